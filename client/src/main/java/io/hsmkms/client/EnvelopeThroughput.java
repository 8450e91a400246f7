package io.hsmkms.client;

import io.hsmkms.client.envelope.CachePolicy;
import io.hsmkms.client.envelope.EnvelopeEncryption;
import io.hsmkms.proto.v1.CreateKeyRequest;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;

/**
 * A rough check of file encryption throughput with envelope encryption, with and without the data
 * key cache, against a running server over mutual TLS as the development "admin" (bin/serve's PKI).
 * One thread encrypts the same plaintext file {@code count} times into files in a temp directory;
 * the figure covers GenerateDataKey calls, AES-GCM and file I/O. Then it decrypts one envelope.
 * Usage: {@code EnvelopeThroughput PKI_DIR host:port fileBytes count cache|nocache}
 */
public final class EnvelopeThroughput {
    private EnvelopeThroughput() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5 || !args[4].matches("cache|nocache")) {
            System.err.println("usage: EnvelopeThroughput PKI_DIR host:port fileBytes count cache|nocache");
            System.exit(2);
        }
        Path pki = Path.of(args[0]);
        long fileBytes = Long.parseLong(args[2]);
        int count = Integer.parseInt(args[3]);
        boolean cache = args[4].equals("cache");
        Path dir = Files.createTempDirectory("hsmkms-throughput");
        Path plain = dir.resolve("plain.bin");
        byte[] chunk = new byte[1 << 20];
        new Random(1).nextBytes(chunk);
        try (OutputStream out = Files.newOutputStream(plain)) {
            for (long left = fileBytes; left > 0; left -= chunk.length) {
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
        try (KmsClient kms = KmsClient.builder().target(args[1]).trustCa(pki.resolve("ca.pem"))
                .clientCertificate(pki.resolve("admin.pem"), pki.resolve("admin.key")).build()) {
            String keyId = kms.createKey(CreateKeyRequest.newBuilder().setDescription("envelope throughput").build()).getKeyId();
            EnvelopeEncryption.Builder builder = EnvelopeEncryption.builder(kms);
            if (cache) {
                // Generous limits so the cache's effect shows: one data key per 1,000 files or 1 GiB or 5 minutes.
                builder.cache(CachePolicy.of(1000, 1L << 30, Duration.ofMinutes(5)));
            }
            Map<String, String> context = Map.of("app", "throughput");
            try (EnvelopeEncryption envelopes = builder.build()) {
                for (int i = 0; i < Math.min(count, 20); i++) {
                    envelopes.encryptFile(keyId, context, plain, dir.resolve("warm.hkev"));
                }
                long started = System.nanoTime();
                for (int i = 0; i < count; i++) {
                    envelopes.encryptFile(keyId, context, plain, dir.resolve("out" + (i % 2) + ".hkev"));
                }
                double seconds = (System.nanoTime() - started) / 1e9;
                long decryptStarted = System.nanoTime();
                try (var in = Files.newInputStream(dir.resolve("out0.hkev"));
                     var out = Files.newOutputStream(dir.resolve("back.bin"))) {
                    envelopes.decrypt(in, out);
                }
                double decryptSeconds = (System.nanoTime() - decryptStarted) / 1e9;
                System.out.printf("cache=%s fileBytes=%d files=%d seconds=%.2f files/s=%.1f encrypt MB/s=%.1f "
                                + "decrypt(one file) MB/s=%.1f%n", cache ? "on" : "off", fileBytes, count, seconds,
                        count / seconds, fileBytes * (double) count / 1e6 / seconds, fileBytes / 1e6 / decryptSeconds);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }
}
