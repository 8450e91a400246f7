package io.hsmkms.bench.jmh;

import io.hsmkms.server.ciphertext.CiphertextBlob;
import io.hsmkms.server.ciphertext.CiphertextCodec;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** The blob codec's share of a call: encode, decode, and building the AAD from header and context. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CiphertextCodecBenchmark {
    private static final Map<String, String> CONTEXT = Map.of("service", "orders", "tenant", "acme-corp",
            "record", "invoice/2026/11/000123");

    @Param({"32", "4096"})
    public int payload;

    private CiphertextBlob blob;
    private byte[] encoded;
    private byte[] header;

    @Setup
    public void setUp() {
        blob = new CiphertextBlob(UUID.randomUUID(), 3, new byte[CiphertextCodec.IV_LENGTH],
                new byte[payload + CiphertextCodec.TAG_LENGTH]);
        encoded = CiphertextCodec.encode(blob);
        header = CiphertextCodec.header(blob.keyId(), blob.keyVersion(), blob.iv());
    }

    @Benchmark
    public byte[] encode() {
        return CiphertextCodec.encode(blob);
    }

    @Benchmark
    public CiphertextBlob decode() {
        return CiphertextCodec.decode(encoded);
    }

    @Benchmark
    public byte[] aad() {
        return CiphertextCodec.aad(header, CONTEXT);
    }
}
