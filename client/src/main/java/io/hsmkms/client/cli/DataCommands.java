package io.hsmkms.client.cli;

import com.google.protobuf.Message;
import io.hsmkms.client.envelope.EnvelopeEncryption;
import io.hsmkms.client.envelope.EnvelopeInfo;
import io.hsmkms.proto.v1.DataKeySpec;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.GenerateDataKeyWithoutPlaintextRequest;
import io.hsmkms.proto.v1.GenerateRandomResponse;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Envelope encryption of files and pipes, data keys and random bytes. */
final class DataCommands {
    private DataCommands() {}

    private static final int BUFFER = 64 << 10;

    @Command(name = "encrypt", description = {"Encrypt a file or stdin with a fresh data key (envelope encryption).",
            "The output is the envelope format of docs/envelope-format.md."})
    static final class Encrypt extends KmsCommand {
        @Option(names = "--key-id", required = true, description = "Key id, key ARN, alias name or alias ARN.")
        String keyId;
        @Option(names = "--context", paramLabel = "K=V", description = "Encryption context pair (repeatable).")
        List<String> context;
        @Option(names = "--in", paramLabel = "FILE", defaultValue = "-", description = "Input file, - for stdin (default).")
        String in;
        @Option(names = "--out", paramLabel = "FILE", defaultValue = "-", description = "Output file, - for stdout (default).")
        String out;
        @Option(names = "--frame-size", paramLabel = "BYTES", description = "Plaintext bytes per frame (default 65536).")
        Integer frameSize;

        @Override
        public Integer call() throws IOException {
            EnvelopeEncryption.Builder builder = EnvelopeEncryption.builder(kms());
            if (frameSize != null) {
                builder.frameSize(frameSize);
            }
            Map<String, String> ctx = pairs(context, "--context");
            try (EnvelopeEncryption envelopes = builder.build()) {
                long length = "-".equals(in) ? -1 : size(in);
                try (InputStream source = Progress.maybeWrap(open(in), length)) {
                    writeAtomically(out, sink -> envelopes.encrypt(keyId, ctx, source, length, sink));
                }
            }
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "decrypt", description = {"Decrypt an envelope from a file or stdin.",
            "With --out FILE the plaintext appears only if the whole envelope authenticated."})
    static final class Decrypt extends KmsCommand {
        @Option(names = "--context", paramLabel = "K=V",
                description = "A pair the envelope's encryption context must contain (repeatable).")
        List<String> context;
        @Option(names = "--in", paramLabel = "FILE", defaultValue = "-", description = "Input file, - for stdin (default).")
        String in;
        @Option(names = "--out", paramLabel = "FILE", defaultValue = "-", description = "Output file, - for stdout (default).")
        String out;

        @Override
        public Integer call() throws IOException {
            Map<String, String> expected = pairs(context, "--context");
            try (EnvelopeEncryption envelopes = EnvelopeEncryption.builder(kms()).build();
                 InputStream source = Progress.maybeWrap(open(in), "-".equals(in) ? -1 : size(in))) {
                writeAtomically(out, sink -> envelopes.decrypt(source, sink, expected));
            }
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "generate-data-key", description = "A fresh data key from the HSM, in plaintext (base64) and encrypted.")
    static final class GenerateDataKey extends KmsCommand {
        @Option(names = "--key-id", required = true)
        String keyId;
        @Option(names = "--key-spec", description = "AES_256 (default) or AES_128.")
        String keySpec;
        @Option(names = "--number-of-bytes", description = "1..1024 bytes instead of a key spec.")
        Integer numberOfBytes;
        @Option(names = "--context", paramLabel = "K=V")
        List<String> context;
        @Option(names = "--without-plaintext", description = "Only the encrypted data key.")
        boolean withoutPlaintext;

        @Override
        public Integer call() {
            if (keySpec != null && numberOfBytes != null) {
                throw usage(spec, "--key-spec and --number-of-bytes exclude each other");
            }
            DataKeySpec dataKeySpec = numberOfBytes != null ? DataKeySpec.DATA_KEY_SPEC_UNSPECIFIED
                    : enumValue(DataKeySpec.class, "DATA_KEY_SPEC_", keySpec == null ? "AES_256" : keySpec);
            Map<String, String> ctx = pairs(context, "--context");
            Message response;
            if (withoutPlaintext) {
                GenerateDataKeyWithoutPlaintextRequest.Builder r = GenerateDataKeyWithoutPlaintextRequest.newBuilder()
                        .setKeyId(keyId).setKeySpec(dataKeySpec).putAllEncryptionContext(ctx);
                if (numberOfBytes != null) {
                    r.setNumberOfBytes(numberOfBytes);
                }
                response = kms().generateDataKeyWithoutPlaintext(r.build());
            } else {
                GenerateDataKeyRequest.Builder r = GenerateDataKeyRequest.newBuilder()
                        .setKeyId(keyId).setKeySpec(dataKeySpec).putAllEncryptionContext(ctx);
                if (numberOfBytes != null) {
                    r.setNumberOfBytes(numberOfBytes);
                }
                response = kms().generateDataKey(r.build());
            }
            return print(response);
        }
    }

    @Command(name = "random", description = "Random bytes from the HSM, base64 (or raw with --raw).")
    static final class Random extends KmsCommand {
        @Option(names = "--number-of-bytes", required = true, description = "1..1024")
        int numberOfBytes;
        @Option(names = "--raw", description = "Write the bytes themselves to stdout.")
        boolean raw;

        @Override
        public Integer call() throws IOException {
            byte[] bytes = kms().generateRandom(numberOfBytes);
            if (raw) {
                System.out.write(bytes);
                System.out.flush();
                return Hsmkms.ExitCodes.OK;
            }
            return print(GenerateRandomResponse.newBuilder()
                    .setPlaintext(com.google.protobuf.ByteString.copyFrom(bytes)).build());
        }
    }

    // ------------------------------------------------------------------ files and pipes

    @FunctionalInterface
    interface StreamWork {
        EnvelopeInfo run(OutputStream out) throws IOException;
    }

    private static long size(String file) throws IOException {
        try {
            return Files.size(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new FileNotFoundException("no such file: " + file);
        }
    }

    private static InputStream open(String file) throws IOException {
        if ("-".equals(file)) {
            return new BufferedInputStream(System.in, BUFFER);
        }
        try {
            return new BufferedInputStream(Files.newInputStream(Path.of(file)), BUFFER);
        } catch (NoSuchFileException e) {
            throw new FileNotFoundException("no such file: " + file);
        }
    }

    /**
     * Runs {@code work} into stdout, or into a temporary file beside {@code file} that replaces it only
     * when the work succeeded: a failed decryption never leaves a truncated plaintext behind.
     */
    private static void writeAtomically(String file, StreamWork work) throws IOException {
        if ("-".equals(file)) {
            OutputStream stdout = new BufferedOutputStream(System.out, BUFFER);
            work.run(stdout);
            stdout.flush();
            return;
        }
        Path target = Path.of(file).toAbsolutePath();
        Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".partial");
        boolean done = false;
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp), BUFFER)) {
                work.run(out);
            }
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }
}
