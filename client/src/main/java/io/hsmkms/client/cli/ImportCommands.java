package io.hsmkms.client.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.hsmkms.proto.v1.ExpirationModelType;
import io.hsmkms.proto.v1.GetParametersForImportRequest;
import io.hsmkms.proto.v1.GetParametersForImportResponse;
import io.hsmkms.proto.v1.ImportKeyMaterialRequest;
import io.hsmkms.proto.v1.WrappingAlgorithmSpec;
import io.hsmkms.proto.v1.WrappingKeySpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "import", description = "Bring your own key material (keys created with --external).",
        subcommands = {ImportCommands.GetParameters.class, ImportCommands.ImportMaterial.class,
                ImportCommands.DeleteMaterial.class})
final class ImportCommands {
    private ImportCommands() {}

    @Command(name = "get-parameters", description = {"A wrapping public key and a single-use import token.",
            "With --out-dir: writes wrapping-key.der (X.509 SubjectPublicKeyInfo) and import-token.bin there."})
    static final class GetParameters extends KeyCommand {
        @Option(names = "--wrapping-algorithm", defaultValue = "RSAES_OAEP_SHA_256",
                description = "RSAES_OAEP_SHA_256 (default) or RSAES_OAEP_SHA_1.")
        String algorithm;
        @Option(names = "--wrapping-key-spec", defaultValue = "RSA_2048", description = "RSA_2048 (default), RSA_3072, RSA_4096.")
        String keySpec;
        @Option(names = "--out-dir", paramLabel = "DIR")
        Path outDir;

        @Override
        public Integer call() throws IOException {
            GetParametersForImportResponse response = kms().getParametersForImport(GetParametersForImportRequest
                    .newBuilder().setKeyId(keyId)
                    .setWrappingAlgorithm(enumValue(WrappingAlgorithmSpec.class, "", algorithm))
                    .setWrappingKeySpec(enumValue(WrappingKeySpec.class, "", keySpec)).build());
            if (outDir != null) {
                Files.createDirectories(outDir);
                Files.write(outDir.resolve("wrapping-key.der"), response.getPublicKey().toByteArray());
                Files.write(outDir.resolve("import-token.bin"), response.getImportToken().toByteArray());
            }
            return print(response);
        }
    }

    @Command(name = "material", description = "Import wrapped key material with an import token.")
    static final class ImportMaterial extends KeyCommand {
        @Option(names = "--import-token-file", required = true, paramLabel = "FILE")
        Path tokenFile;
        @Option(names = "--encrypted-material-file", required = true, paramLabel = "FILE",
                description = "32 bytes of AES-256 material wrapped with the wrapping key.")
        Path materialFile;
        @Option(names = "--valid-to", paramLabel = "INSTANT", description = "Expiry, e.g. 2027-01-01T00:00:00Z; omit for none.")
        Instant validTo;

        @Override
        public Integer call() throws IOException {
            ImportKeyMaterialRequest.Builder request = ImportKeyMaterialRequest.newBuilder().setKeyId(keyId)
                    .setImportToken(ByteString.copyFrom(Files.readAllBytes(tokenFile)))
                    .setEncryptedKeyMaterial(ByteString.copyFrom(Files.readAllBytes(materialFile)));
            if (validTo != null) {
                request.setExpirationModel(ExpirationModelType.KEY_MATERIAL_EXPIRES).setValidTo(Timestamp.newBuilder()
                        .setSeconds(validTo.getEpochSecond()).setNanos(validTo.getNano()));
            } else {
                request.setExpirationModel(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE);
            }
            kms().importKeyMaterial(request.build());
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "delete-material", description = "Delete imported material (the key waits for a new import).")
    static final class DeleteMaterial extends KeyCommand {

        @Override
        public Integer call() {
            kms().deleteImportedKeyMaterial(keyId);
            return Hsmkms.ExitCodes.OK;
        }
    }
}
