package io.hsmkms.bench.jmh;

import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.hsm.pkcs11.Pkcs11Config;
import io.hsmkms.hsm.pkcs11.SunPkcs11Hsm;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The adapter's calls against the token bin/bench-jmh prepares (SOFTHSM2_CONF and HSMKMS_PIN_FILE
 * in the environment): what one Encrypt costs in the HSM (an IV from the token RNG, then AES-GCM
 * with the service's AAD size on a token key).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class AdapterBenchmark {
    @Param({"32", "4096"})
    public int payload;

    private SunPkcs11Hsm hsm;
    private HsmKeyRef key;
    private byte[] plaintext;
    private byte[] aad;
    private byte[] iv;
    private byte[] sealed;

    @Setup(Level.Trial)
    public void setUp() {
        hsm = SunPkcs11Hsm.open(Pkcs11Config.fromSettings(System.getenv()));
        key = hsm.generateAesKey("hsmkms/00000000-0000-0000-0000-" + String.format("%012d", System.nanoTime() % 1_000_000_000_000L) + "/1");
        plaintext = new byte[payload];
        aad = new byte[116];
        iv = hsm.generateRandom(12);
        sealed = hsm.encrypt(key, iv, aad, plaintext);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        hsm.destroyKey(key);
        hsm.close();
    }

    @Benchmark
    public byte[] randomIv() {
        return hsm.generateRandom(12);
    }

    @Benchmark
    public byte[] encrypt() {
        return hsm.encrypt(key, hsm.generateRandom(12), aad, plaintext);
    }

    @Benchmark
    public byte[] decrypt() {
        return hsm.decrypt(key, iv, aad, sealed);
    }
}
