package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.hsmkms.hsm.testing.SoftHsmTokenExtension;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.ExpirationModelType;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.GenerateRandomRequest;
import io.hsmkms.proto.v1.GetParametersForImportRequest;
import io.hsmkms.proto.v1.GetParametersForImportResponse;
import io.hsmkms.proto.v1.ImportKeyMaterialRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.OriginType;
import io.hsmkms.proto.v1.ReEncryptRequest;
import io.hsmkms.proto.v1.WrappingAlgorithmSpec;
import io.hsmkms.proto.v1.WrappingKeySpec;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.testing.CrashChecks;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real server process at DEBUG, drives every call that handles a secret (plaintexts, data
 * keys, random bytes, imported key material, bearer tokens, failures about them), then searches
 * everything it wrote (its whole log and its whole audit trail) for each secret in every encoding
 * a careless line would use.
 */
class NoSecretsInLogsTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    static Path dataDir;
    @RegisterExtension
    static final SoftHsmTokenExtension tokens = new SoftHsmTokenExtension();

    @Test
    void nothingSecretReachesTheLogOrTheAuditTrail() throws Exception {
        byte[] tokenKey = random(32);
        Path tokenKeyFile = dataDir.resolve("token.key");
        Files.write(tokenKeyFile, tokenKey);
        Path identities = dataDir.resolve("identities.json");
        Files.writeString(identities, "{\"identities\":[{\"arn\":\"" + KmsTestServer.ROOT + "\"}]}");
        String bearer = new BearerTokens(tokenKey, Clock.systemUTC()).issue(KmsTestServer.ROOT, Duration.ofHours(1), false);
        String forged = new BearerTokens(random(32), Clock.systemUTC()).issue(KmsTestServer.ROOT, Duration.ofHours(1), false);
        List<byte[]> secrets = new ArrayList<>();
        String plaintext = "SSN 078-05-1120 " + HexFormat.of().formatHex(random(8));
        secrets.add(plaintext.getBytes(StandardCharsets.UTF_8));
        byte[] material = random(32);
        secrets.add(material);
        secrets.add(tokenKey);

        String log;
        byte[][] ciphertext = new byte[1][];
        try (ServerProcess server = ServerProcess.start(tokens.get(), dataDir, Map.of("HSMKMS_LOG_LEVEL", "DEBUG",
                ServerConfig.TOKEN_KEY_FILE, tokenKeyFile.toString(), ServerConfig.IDENTITIES_FILE, identities.toString()))) {
            KeyManagementServiceBlockingStub kms = CrashChecks.stub(server).withInterceptors(bearer(bearer));
            String keyId = kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
            ByteString blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(keyId).putEncryptionContext("k", "v")
                    .setPlaintext(ByteString.copyFromUtf8(plaintext)).build()).getCiphertextBlob();
            ciphertext[0] = blob.toByteArray();
            kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).putEncryptionContext("k", "v").build());
            expectFailure(() -> kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()));
            kms.reEncrypt(ReEncryptRequest.newBuilder().setCiphertextBlob(blob).putSourceEncryptionContext("k", "v")
                    .setDestinationKeyId(keyId).build());
            var dataKey = kms.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(keyId).setNumberOfBytes(32).build());
            secrets.add(dataKey.getPlaintext().toByteArray());
            secrets.add(kms.generateRandom(GenerateRandomRequest.newBuilder().setNumberOfBytes(32).build())
                    .getPlaintext().toByteArray());
            String external = kms.createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                    .getKeyMetadata().getKeyId();
            importMaterial(kms, external, material);
            expectFailure(() -> CrashChecks.stub(server).withInterceptors(bearer(forged))
                    .listKeys(ListKeysRequest.getDefaultInstance()));
            server.stop();
            log = server.output();
        }
        StringBuilder everything = new StringBuilder(log);
        try (Stream<Path> files = Files.walk(dataDir.resolve("audit"))) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                everything.append('\n').append(Files.readString(file, StandardCharsets.ISO_8859_1));
            }
        }
        String written = everything.toString();
        assertThat(written).as("the run logged and audited something").contains("rpc=GenerateDataKey", "\"eventName\":\"ImportKeyMaterial\"");
        assertThat(written).contains("level=DEBUG");

        String pin = Files.readString(Path.of(tokens.get().settings().get("HSMKMS_PIN_FILE"))).trim();
        assertThat(written).doesNotContain(pin, bearer, forged, bearer.split("\\.")[2], forged.split("\\.")[2]);
        for (byte[] secret : secrets) {
            assertThat(written).doesNotContain(Base64.getEncoder().encodeToString(secret),
                    Base64.getUrlEncoder().withoutPadding().encodeToString(secret),
                    HexFormat.of().formatHex(secret), HexFormat.of().withUpperCase().formatHex(secret));
        }
        assertThat(written).as("no ciphertext either").doesNotContain(Base64.getEncoder().encodeToString(ciphertext[0]),
                HexFormat.of().formatHex(ciphertext[0]));
    }

    private static void importMaterial(KeyManagementServiceBlockingStub kms, String keyId, byte[] material) throws Exception {
        GetParametersForImportResponse parameters = kms.getParametersForImport(GetParametersForImportRequest.newBuilder()
                .setKeyId(keyId).setWrappingAlgorithm(WrappingAlgorithmSpec.RSAES_OAEP_SHA_256)
                .setWrappingKeySpec(WrappingKeySpec.RSA_2048).build());
        Cipher oaep = Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
        oaep.init(Cipher.ENCRYPT_MODE, KeyFactory.getInstance("RSA").generatePublic(
                        new X509EncodedKeySpec(parameters.getPublicKey().toByteArray())),
                new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
        kms.importKeyMaterial(ImportKeyMaterialRequest.newBuilder().setKeyId(keyId).setImportToken(parameters.getImportToken())
                .setEncryptedKeyMaterial(ByteString.copyFrom(oaep.doFinal(material)))
                .setExpirationModel(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE).build());
    }

    private static void expectFailure(Runnable call) {
        try {
            call.run();
            throw new AssertionError("expected the call to fail");
        } catch (StatusRuntimeException expected) {
            // the point is what the failure leaves in the log
        }
    }

    private static io.grpc.ClientInterceptor bearer(String credential) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + credential);
        return MetadataUtils.newAttachHeadersInterceptor(headers);
    }

    private static byte[] random(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
