package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.grpc.Status.Code;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DeleteImportedKeyMaterialRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.ExpirationModelType;
import io.hsmkms.proto.v1.GetParametersForImportRequest;
import io.hsmkms.proto.v1.GetParametersForImportResponse;
import io.hsmkms.proto.v1.ImportKeyMaterialRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.OriginType;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.proto.v1.WrappingAlgorithmSpec;
import io.hsmkms.proto.v1.WrappingKeySpec;
import io.hsmkms.server.ciphertext.CiphertextBlob;
import io.hsmkms.server.ciphertext.CiphertextCodec;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bring your own key: the test wraps a key it knows with the service's public wrapping key (as a
 * customer would, with the JDK's own OAEP), imports it, and then decrypts the service's ciphertext
 * with plain software AES-GCM and that known key: the HSM really holds the imported material.
 */
class ImportKeyMaterialTest {
    private static final Map<String, String> CONTEXT = Map.of("owner", "customer");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void importedMaterial_isWhatTheServiceEncryptsWith_andSurvivesDeleteAndReimport() throws Exception {
        KeyMetadata key = server.kms().createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                .getKeyMetadata();
        assertThat(key.getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertThat(key.getOrigin()).isEqualTo(OriginType.ORIGIN_EXTERNAL);
        assertThat(key.getCurrentKeyVersion()).isZero();
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException", () -> encrypt(key.getKeyId(), "too early"));
        byte[] material = random(32);

        importMaterial(key.getKeyId(), material, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, null);

        KeyMetadata imported = describe(key.getKeyId());
        assertThat(imported.getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);
        assertThat(imported.getCurrentKeyVersion()).isEqualTo(1);
        assertThat(imported.getExpirationModel()).isEqualTo(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE);
        ByteString blob = encrypt(key.getKeyId(), "encrypted by the service");
        assertThat(softwareDecrypt(blob, material)).isEqualTo("encrypted by the service");
        String label = server.hsm().listKeyLabels().stream().filter(l -> l.startsWith("hsmkms/" + key.getKeyId() + "/1/import-1-"))
                .findFirst().orElseThrow();
        SoftHsmToken.ToolResult listing = server.token().pkcs11Tool("--list-objects", "--type", "secrkey");
        assertThat(listing.output()).containsPattern("label:\\s+" + java.util.regex.Pattern.quote(label)
                + "\\s*\\n\\s+Usage:\\s+encrypt, decrypt\\s*\\n\\s+Access:\\s+sensitive\\s*\\n");
        assertThat(server.token().pkcs11Tool("--read-object", "--type", "secrkey", "--label", label).output())
                .contains("CKR_ATTRIBUTE_SENSITIVE");

        server.kms().deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest.newBuilder().setKeyId(key.getKeyId()).build());

        assertThat(describe(key.getKeyId()).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertThat(server.hsm().listKeyLabels()).doesNotContain(label);
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException", () -> decrypt(blob));
        assertFails(Code.INVALID_ARGUMENT, "IncorrectKeyMaterialException", () -> importMaterial(key.getKeyId(), random(32),
                WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, null));
        assertThat(describe(key.getKeyId()).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertThat(server.hsm().listKeyLabels()).noneMatch(l -> l.startsWith("hsmkms/" + key.getKeyId()));

        importMaterial(key.getKeyId(), material, WrappingAlgorithmSpec.RSAES_OAEP_SHA_1, WrappingKeySpec.RSA_3072, null);

        assertThat(decrypt(blob)).isEqualTo("encrypted by the service");
        assertThat(server.hsm().listKeyLabels()).filteredOn(l -> l.startsWith("hsmkms/" + key.getKeyId() + "/"))
                .singleElement().satisfies(l -> assertThat(l).startsWith("hsmkms/" + key.getKeyId() + "/1/import-").isNotEqualTo(label));
    }

    @Test
    void deletedMaterial_thatACrashLeftOnTheToken_isAnOrphan_reportedThenDestroyed() throws Exception {
        String id = server.kms().createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                .getKeyMetadata().getKeyId();
        byte[] material = random(32);
        importMaterial(id, material, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, null);
        ByteString blob = encrypt(id, "before the crash");
        String label = server.hsm().listKeyLabels().stream().filter(l -> l.startsWith("hsmkms/" + id + "/1/import-"))
                .findFirst().orElseThrow();
        server.kms().deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest.newBuilder().setKeyId(id).build());
        // What a kill between the metadata update and the destroy leaves: the key waits for material, and an object
        // is still under its old label (made from outside, as another process would find it).
        SoftHsmToken.ToolResult leftOver = server.token().pkcs11Tool("--keygen", "--key-type", "AES:32", "--label", label);
        assertThat(leftOver.exitCode()).as(leftOver.output()).isZero();

        io.hsmkms.server.core.OrphanReconciler.Report first = server.server().reconcile();

        assertThat(first.newOrphans()).contains(label);
        assertThat(first.missingMaterial()).doesNotContain(label);
        assertThat(server.server().reconcile().destroyed()).contains(label);
        assertThat(server.hsm().listKeyLabels()).doesNotContain(label);
        assertThat(describe(id).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        importMaterial(id, material, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, null);
        assertThat(decrypt(blob)).isEqualTo("before the crash");
    }

    @Test
    void materialWithValidTo_expiresAndTheKeyWaitsForMaterialAgain() throws Exception {
        String id = server.kms().createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                .getKeyMetadata().getKeyId();
        Instant validTo = server.clock().instant().plus(Duration.ofHours(1));

        importMaterial(id, random(32), WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, validTo);

        assertThat(describe(id).getExpirationModel()).isEqualTo(ExpirationModelType.KEY_MATERIAL_EXPIRES);
        assertThat(describe(id).getValidTo().getSeconds()).isEqualTo(validTo.getEpochSecond());
        encrypt(id, "while valid");
        server.server().deleteDueKeys();
        assertThat(describe(id).getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);

        server.clock().advance(Duration.ofHours(2));
        server.server().deleteDueKeys();

        assertThat(describe(id).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException", () -> encrypt(id, "too late"));
        assertThat(server.hsm().listKeyLabels()).noneMatch(l -> l.startsWith("hsmkms/" + id));
    }

    @Test
    void pendingImportAndDisabledKeys_followTheirOtherTransitions() throws Exception {
        String id = server.kms().createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                .getKeyMetadata().getKeyId();

        server.kms().scheduleKeyDeletion(io.hsmkms.proto.v1.ScheduleKeyDeletionRequest.newBuilder().setKeyId(id).setPendingWindowInDays(7)
                .build());
        assertThat(describe(id).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_DELETION);
        server.kms().cancelKeyDeletion(io.hsmkms.proto.v1.CancelKeyDeletionRequest.newBuilder().setKeyId(id).build());
        assertThat(describe(id).getKeyState()).as("no material: back to waiting for it").isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException",
                () -> server.kms().enableKey(io.hsmkms.proto.v1.EnableKeyRequest.newBuilder().setKeyId(id).build()));

        importMaterial(id, random(32), WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, null);
        server.kms().disableKey(io.hsmkms.proto.v1.DisableKeyRequest.newBuilder().setKeyId(id).build());
        server.kms().deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest.newBuilder().setKeyId(id).build());

        assertThat(describe(id).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException",
                () -> server.kms().deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest.newBuilder().setKeyId(id).build()));
    }

    @Test
    void badImports_failWithTypedErrors_andLeaveNothingBehind() throws Exception {
        String id = server.kms().createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                .getKeyMetadata().getKeyId();
        String other = server.kms().createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                .getKeyMetadata().getKeyId();
        String generated = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();

        GetParametersForImportResponse parameters = parameters(id, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048);
        byte[] wrapped = wrap(parameters, random(32), "SHA-256", MGF1ParameterSpec.SHA256);
        byte[] flipped = wrapped.clone();
        flipped[100] ^= 1;
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> server.kms().importKeyMaterial(request(id, parameters, flipped)));
        GetParametersForImportResponse again = parameters(id, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048);
        assertFails(Code.INVALID_ARGUMENT, "InvalidImportTokenException",
                () -> server.kms().importKeyMaterial(request(other, again, wrap(again, random(32), "SHA-256", MGF1ParameterSpec.SHA256))));
        GetParametersForImportResponse shortKey = parameters(id, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048);
        assertFails(Code.INVALID_ARGUMENT, "IncorrectKeyMaterialException",
                () -> server.kms().importKeyMaterial(request(id, shortKey, wrap(shortKey, random(16), "SHA-256", MGF1ParameterSpec.SHA256))));
        GetParametersForImportResponse sha1 = parameters(id, WrappingAlgorithmSpec.RSAES_OAEP_SHA_1, WrappingKeySpec.RSA_2048);
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> server.kms().importKeyMaterial(
                request(id, sha1, wrap(sha1, random(32), "SHA-256", MGF1ParameterSpec.SHA256))));
        assertFails(Code.FAILED_PRECONDITION, "UnsupportedOperationException",
                () -> parameters(generated, WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().getParametersForImport(
                GetParametersForImportRequest.newBuilder().setKeyId(id).setWrappingKeySpec(WrappingKeySpec.RSA_2048).build()));

        assertThat(describe(id).getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_IMPORT);
        assertThat(server.hsm().listKeyLabels()).noneMatch(l -> l.startsWith("hsmkms/" + id));

        importMaterial(id, random(32), WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_4096, null);
        assertFails(Code.FAILED_PRECONDITION, "UnsupportedOperationException",
                () -> server.kms().rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(id).build()));
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException", () -> importMaterial(id, random(32),
                WrappingAlgorithmSpec.RSAES_OAEP_SHA_256, WrappingKeySpec.RSA_2048, null));
    }

    private static void importMaterial(String keyId, byte[] material, WrappingAlgorithmSpec algorithm, WrappingKeySpec spec,
                                       Instant validTo) throws Exception {
        GetParametersForImportResponse parameters = parameters(keyId, algorithm, spec);
        boolean sha1 = algorithm == WrappingAlgorithmSpec.RSAES_OAEP_SHA_1;
        byte[] wrapped = wrap(parameters, material, sha1 ? "SHA-1" : "SHA-256", sha1 ? MGF1ParameterSpec.SHA1 : MGF1ParameterSpec.SHA256);
        ImportKeyMaterialRequest.Builder request = request(keyId, parameters, wrapped).toBuilder();
        if (validTo != null) {
            request.setExpirationModel(ExpirationModelType.KEY_MATERIAL_EXPIRES)
                    .setValidTo(Timestamp.newBuilder().setSeconds(validTo.getEpochSecond()));
        } else {
            request.setExpirationModel(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE);
        }
        server.kms().importKeyMaterial(request.build());
    }

    private static GetParametersForImportResponse parameters(String keyId, WrappingAlgorithmSpec algorithm, WrappingKeySpec spec) {
        return server.kms().getParametersForImport(GetParametersForImportRequest.newBuilder().setKeyId(keyId)
                .setWrappingAlgorithm(algorithm).setWrappingKeySpec(spec).build());
    }

    private static ImportKeyMaterialRequest request(String keyId, GetParametersForImportResponse parameters, byte[] wrapped) {
        return ImportKeyMaterialRequest.newBuilder().setKeyId(keyId).setImportToken(parameters.getImportToken())
                .setEncryptedKeyMaterial(ByteString.copyFrom(wrapped))
                .setExpirationModel(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE).build();
    }

    /** What a customer does with the public key: RSA-OAEP in software, MGF1 with the same hash. */
    private static byte[] wrap(GetParametersForImportResponse parameters, byte[] material, String hash, MGF1ParameterSpec mgf)
            throws Exception {
        PublicKey publicKey = KeyFactory.getInstance("RSA")
                .generatePublic(new X509EncodedKeySpec(parameters.getPublicKey().toByteArray()));
        Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
        cipher.init(Cipher.ENCRYPT_MODE, publicKey, new OAEPParameterSpec(hash, "MGF1", mgf, PSource.PSpecified.DEFAULT));
        return cipher.doFinal(material);
    }

    /** An independent AES-GCM decryption in software with the known key (docs/ciphertext-format.md). */
    private static String softwareDecrypt(ByteString blob, byte[] material) throws Exception {
        CiphertextBlob parsed = CiphertextCodec.decode(blob.toByteArray());
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(material, "AES"), new GCMParameterSpec(128, parsed.iv()));
        gcm.updateAAD(CiphertextCodec.aad(CiphertextCodec.header(parsed.keyId(), parsed.keyVersion(), parsed.iv()), CONTEXT));
        return new String(gcm.doFinal(parsed.sealed()), StandardCharsets.UTF_8);
    }

    private static ByteString encrypt(String keyId, String text) {
        return server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFromUtf8(text))
                .putAllEncryptionContext(CONTEXT).build()).getCiphertextBlob();
    }

    private static String decrypt(ByteString blob) {
        return server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).putAllEncryptionContext(CONTEXT).build())
                .getPlaintext().toStringUtf8();
    }

    private static KeyMetadata describe(String keyId) {
        return server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(keyId).build()).getKeyMetadata();
    }

    private static byte[] random(int n) {
        byte[] bytes = new byte[n];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }
}
