package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRotationRequest;
import io.hsmkms.proto.v1.EnableKeyRotationRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GetKeyRotationStatusRequest;
import io.hsmkms.proto.v1.GetKeyRotationStatusResponse;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ListKeyRotationsRequest;
import io.hsmkms.proto.v1.ReEncryptRequest;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.proto.v1.RotationType;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Rotation over gRPC: new versions in the HSM become current, old ones keep decrypting. */
class KeyRotationTest {
    private static final Map<String, String> CONTEXT = Map.of("purpose", "rotation");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void rotateOnDemand_makesANewCurrentVersion_oldCiphertextsStillDecrypt_reEncryptMovesThemForward() {
        KeyMetadata key = createKey();
        ByteString v1 = encrypt(key.getKeyId(), "before rotation");

        var rotated = server.kms().rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(key.getKeyId()).build());

        assertThat(rotated.getKeyVersion()).isEqualTo(2);
        assertThat(describe(key.getKeyId()).getCurrentKeyVersion()).isEqualTo(2);
        ByteString v2 = encrypt(key.getKeyId(), "after rotation");
        assertThat(version(v1)).isEqualTo(1);
        assertThat(version(v2)).isEqualTo(2);
        assertThat(decrypt(v1)).isEqualTo("before rotation");
        assertThat(decrypt(v2)).isEqualTo("after rotation");
        ByteString moved = server.kms().reEncrypt(ReEncryptRequest.newBuilder().setCiphertextBlob(v1).putAllSourceEncryptionContext(CONTEXT)
                .setDestinationKeyId(key.getKeyId()).putAllDestinationEncryptionContext(CONTEXT).build()).getCiphertextBlob();
        assertThat(version(moved)).isEqualTo(2);
        assertThat(decrypt(moved)).isEqualTo("before rotation");
        assertThat(server.kms().listKeyRotations(ListKeyRotationsRequest.newBuilder().setKeyId(key.getKeyId()).build()).getRotationsList())
                .singleElement().satisfies(r -> {
                    assertThat(r.getKeyVersion()).isEqualTo(2);
                    assertThat(r.getRotationType()).isEqualTo(RotationType.ROTATION_TYPE_ON_DEMAND);
                    assertThat(r.getKeyId()).isEqualTo(key.getArn());
                });
        SoftHsmToken.ToolResult objects = server.token().pkcs11Tool("--list-objects", "--type", "secrkey");
        assertThat(objects.output()).contains("hsmkms/" + key.getKeyId() + "/1").contains("hsmkms/" + key.getKeyId() + "/2");
    }

    @Test
    void automaticRotation_runsWhenThePeriodHasPassed_andSchedulesTheNextOne() {
        KeyMetadata key = createKey();
        ByteString v1 = encrypt(key.getKeyId(), "old data");
        Instant before = Instant.now();

        server.kms().enableKeyRotation(EnableKeyRotationRequest.newBuilder().setKeyId(key.getKeyId()).setRotationPeriodInDays(90).build());

        GetKeyRotationStatusResponse status = status(key.getKeyId());
        assertThat(status.getKeyRotationEnabled()).isTrue();
        assertThat(status.getRotationPeriodInDays()).isEqualTo(90);
        Instant next = Instant.ofEpochSecond(status.getNextRotationDate().getSeconds());
        assertThat(next).isBetween(before.plus(Duration.ofDays(90)).minusSeconds(2), Instant.now().plus(Duration.ofDays(90)));

        server.clock().advance(Duration.ofDays(89));
        server.server().rotateDueKeys();
        assertThat(describe(key.getKeyId()).getCurrentKeyVersion()).isEqualTo(1);

        server.clock().advance(Duration.ofDays(2));
        server.server().rotateDueKeys();

        assertThat(describe(key.getKeyId()).getCurrentKeyVersion()).isEqualTo(2);
        assertThat(version(encrypt(key.getKeyId(), "new data"))).isEqualTo(2);
        assertThat(decrypt(v1)).isEqualTo("old data");
        assertThat(Instant.ofEpochSecond(status(key.getKeyId()).getNextRotationDate().getSeconds()))
                .isEqualTo(next.plus(Duration.ofDays(90)));
        assertThat(server.kms().listKeyRotations(ListKeyRotationsRequest.newBuilder().setKeyId(key.getKeyId()).build())
                .getRotations(0).getRotationType()).isEqualTo(RotationType.ROTATION_TYPE_AUTOMATIC);

        server.kms().disableKeyRotation(DisableKeyRotationRequest.newBuilder().setKeyId(key.getKeyId()).build());
        server.clock().advance(Duration.ofDays(200));
        server.server().rotateDueKeys();
        assertThat(describe(key.getKeyId()).getCurrentKeyVersion()).isEqualTo(2);
        assertThat(status(key.getKeyId()).getKeyRotationEnabled()).isFalse();
    }

    @Test
    void rotationLimitsAndStates_areEnforced() {
        KeyMetadata key = createKey();
        for (int days : new int[] {89, 2561, -5}) {
            assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().enableKeyRotation(
                    EnableKeyRotationRequest.newBuilder().setKeyId(key.getKeyId()).setRotationPeriodInDays(days).build()));
        }
        server.kms().enableKeyRotation(EnableKeyRotationRequest.newBuilder().setKeyId(key.getKeyId()).build());
        assertThat(status(key.getKeyId()).getRotationPeriodInDays()).isEqualTo(365);
        for (int i = 0; i < 10; i++) {
            server.kms().rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(key.getKeyId()).build());
        }
        assertFails(Code.RESOURCE_EXHAUSTED, "LimitExceededException",
                () -> server.kms().rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(key.getKeyId()).build()));
        assertThat(describe(key.getKeyId()).getCurrentKeyVersion()).isEqualTo(11);
        assertThat(status(key.getKeyId()).getOnDemandRotations()).isEqualTo(10);

        KeyMetadata disabled = createKey();
        server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(disabled.getKeyId()).build());
        long hsmCalls = server.hsm().calls();
        assertFails(Code.FAILED_PRECONDITION, "DisabledException",
                () -> server.kms().rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(disabled.getKeyId()).build()));
        assertThat(server.hsm().calls()).isEqualTo(hsmCalls);
    }

    private static KeyMetadata createKey() {
        return server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
    }

    private static KeyMetadata describe(String keyId) {
        return server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(keyId).build()).getKeyMetadata();
    }

    private static GetKeyRotationStatusResponse status(String keyId) {
        return server.kms().getKeyRotationStatus(GetKeyRotationStatusRequest.newBuilder().setKeyId(keyId).build());
    }

    private static ByteString encrypt(String keyId, String text) {
        return server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFromUtf8(text))
                .putAllEncryptionContext(CONTEXT).build()).getCiphertextBlob();
    }

    private static String decrypt(ByteString blob) {
        return server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).putAllEncryptionContext(CONTEXT).build())
                .getPlaintext().toStringUtf8();
    }

    /** The backing version a blob names (bytes 17..20, docs/ciphertext-format.md). */
    private static int version(ByteString blob) {
        return ByteBuffer.wrap(blob.toByteArray()).getInt(17);
    }
}
