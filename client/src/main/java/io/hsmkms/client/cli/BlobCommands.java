package io.hsmkms.client.cli;

import com.google.protobuf.ByteString;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.ReEncryptRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Encrypt, Decrypt and ReEncrypt RPCs themselves, for up to 4 KiB (secrets, other data keys):
 * the service's ciphertext blob, not an envelope. Input and output are raw bytes.
 */
final class BlobCommands {
    private BlobCommands() {}

    /** Input file or stdin, and output file or stdout, of a blob command. */
    abstract static class BlobCommand extends KmsCommand {
        @Option(names = "--in", paramLabel = "FILE", defaultValue = "-", description = "Input file, - for stdin (default).")
        String in;
        @Option(names = "--out", paramLabel = "FILE", defaultValue = "-", description = "Output file, - for stdout (default).")
        String out;

        ByteString input() throws IOException {
            try (InputStream source = "-".equals(in) ? System.in : Files.newInputStream(Path.of(in))) {
                return ByteString.readFrom(source);
            }
        }

        int output(ByteString bytes) throws IOException {
            if ("-".equals(out)) {
                bytes.writeTo(System.out);
                System.out.flush();
            } else {
                try (OutputStream sink = Files.newOutputStream(Path.of(out))) {
                    bytes.writeTo(sink);
                }
            }
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "encrypt-blob", description = "Encrypt up to 4096 bytes with the Encrypt RPC; writes the ciphertext blob.")
    static final class EncryptBlob extends BlobCommand {
        @Option(names = "--key-id", required = true)
        String keyId;
        @Option(names = "--context", paramLabel = "K=V")
        List<String> context;

        @Override
        public Integer call() throws IOException {
            return output(kms().encrypt(EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(input())
                    .putAllEncryptionContext(pairs(context, "--context")).build()).getCiphertextBlob());
        }
    }

    @Command(name = "decrypt-blob", description = "Decrypt a ciphertext blob with the Decrypt RPC; writes the plaintext.")
    static final class DecryptBlob extends BlobCommand {
        @Option(names = "--key-id", description = "If given, the blob must be of this key.")
        String keyId;
        @Option(names = "--context", paramLabel = "K=V")
        List<String> context;

        @Override
        public Integer call() throws IOException {
            DecryptRequest.Builder request = DecryptRequest.newBuilder().setCiphertextBlob(input())
                    .putAllEncryptionContext(pairs(context, "--context"));
            if (keyId != null) {
                request.setKeyId(keyId);
            }
            return output(kms().decrypt(request.build()).getPlaintext());
        }
    }

    @Command(name = "re-encrypt", description = "Re-encrypt a ciphertext blob under another key (or context) inside the service.")
    static final class ReEncrypt extends BlobCommand {
        @Option(names = "--destination-key-id", required = true)
        String destination;
        @Option(names = "--source-context", paramLabel = "K=V")
        List<String> sourceContext;
        @Option(names = "--destination-context", paramLabel = "K=V")
        List<String> destinationContext;

        @Override
        public Integer call() throws IOException {
            return output(kms().reEncrypt(ReEncryptRequest.newBuilder().setCiphertextBlob(input())
                    .setDestinationKeyId(destination)
                    .putAllSourceEncryptionContext(pairs(sourceContext, "--source-context"))
                    .putAllDestinationEncryptionContext(pairs(destinationContext, "--destination-context")).build())
                    .getCiphertextBlob());
        }
    }
}
