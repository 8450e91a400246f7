package io.hsmkms.client.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.client.KmsClient;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.server.testing.KmsServerExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * 1 GiB through encryption and decryption at once (a pipe between them, nothing stored), in a JVM
 * whose heap is 64 MiB (the client pom's "bounded-heap" Surefire execution), server included.
 */
@Tag("bounded-heap")
class LargeStreamBoundedHeapTest {
    private static final long GIB = 1L << 30;

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    @Timeout(120)
    void oneGibibyte_roundTripsThroughAPipe_inA64MiBHeap() throws Exception {
        assertThat(Runtime.getRuntime().maxMemory()).as("this class must run with -Xmx64m").isLessThanOrEqualTo(64L << 20);
        try (KmsClient kms = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true).build();
             EnvelopeEncryption envelopes = EnvelopeEncryption.builder(kms).build()) {
            String keyId = kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyId();
            Generated source = new Generated(GIB);
            PipedInputStream pipeIn = new PipedInputStream(1 << 20);
            PipedOutputStream pipeOut = new PipedOutputStream(pipeIn);
            long started = System.nanoTime();
            CompletableFuture<EnvelopeInfo> encrypting = CompletableFuture.supplyAsync(() -> {
                try (pipeOut) {
                    return envelopes.encrypt(keyId, Map.of("test", "1gib"), source, GIB, pipeOut);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Checksummed sink = new Checksummed();
            EnvelopeInfo decrypted = envelopes.decrypt(pipeIn, sink);
            EnvelopeInfo encrypted = encrypting.get();
            double seconds = (System.nanoTime() - started) / 1e9;
            long peakHeap = ManagementFactory.getMemoryPoolMXBeans().stream()
                    .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP)
                    .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
            System.out.printf("1 GiB encrypt+decrypt through a pipe: %.1f s, %.0f MB/s, peak heap pools %d MiB%n",
                    seconds, GIB / 1e6 / seconds, peakHeap >> 20);

            assertThat(encrypted.plaintextBytes()).isEqualTo(GIB);
            assertThat(decrypted.plaintextBytes()).isEqualTo(GIB);
            assertThat(sink.bytes).isEqualTo(GIB);
            assertThat(sink.crc.getValue()).isEqualTo(source.crc.getValue());
        }
    }

    /** Deterministic bytes that differ in every 8-byte word (so a moved frame changes the checksum). */
    private static final class Generated extends InputStream {
        private final long length;
        private final CRC32C crc = new CRC32C();
        private long position;

        Generated(long length) {
            this.length = length;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (position >= length) {
                return -1;
            }
            int n = (int) Math.min(len, length - position);
            ByteBuffer out = ByteBuffer.wrap(b, off, n);
            for (int i = 0; i < n; i++) {
                long p = position + i;
                out.put((byte) ((p >>> ((p & 7) * 8)) ^ (p * 0x9E3779B97F4A7C15L >>> 56)));
            }
            crc.update(b, off, n);
            position += n;
            return n;
        }
    }

    private static final class Checksummed extends OutputStream {
        private final CRC32C crc = new CRC32C();
        private long bytes;

        @Override
        public void write(int b) {
            crc.update(b);
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            crc.update(b, off, len);
            bytes += len;
        }
    }
}
