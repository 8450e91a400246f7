package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.hsmkms.proto.v1.CancelKeyDeletionRequest;
import io.hsmkms.proto.v1.CreateAliasRequest;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EnableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.ListAliasesRequest;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.proto.v1.ScheduleKeyDeletionResponse;
import java.time.Duration;
import java.time.Instant;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Scheduled deletion over gRPC, with the server's clock moved forward instead of waiting days. */
class KeyDeletionTest {
    private static final ByteString DATA = ByteString.copyFromUtf8("short-lived secret");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void scheduledKey_isUnusable_untilCancelled_thenComesBackDisabled() {
        KeyMetadata key = createKey();
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId())).getCiphertextBlob();
        Instant before = Instant.now();

        ScheduleKeyDeletionResponse scheduled = server.kms().scheduleKeyDeletion(schedule(key.getKeyId(), 7));

        assertThat(scheduled.getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_DELETION);
        assertThat(scheduled.getPendingWindowInDays()).isEqualTo(7);
        Instant deletion = Instant.ofEpochSecond(scheduled.getDeletionDate().getSeconds());
        assertThat(deletion).isBetween(before.plus(Duration.ofDays(7)).minusSeconds(2), Instant.now().plus(Duration.ofDays(7)));
        KeyMetadata described = server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()).getKeyMetadata();
        assertThat(described.getKeyState()).isEqualTo(KeyState.KEY_STATE_PENDING_DELETION);
        assertThat(described.hasDeletionDate()).isTrue();
        long hsmCalls = server.hsm().calls();
        for (Runnable use : new Runnable[] {
            () -> server.kms().encrypt(encrypt(key.getKeyId())),
            () -> server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()),
            () -> server.kms().generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(key.getKeyId()).setNumberOfBytes(16).build()),
            () -> server.kms().enableKey(EnableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()),
            () -> server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()),
            () -> server.kms().scheduleKeyDeletion(schedule(key.getKeyId(), 30))}) {
            assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException", use::run);
        }
        assertThat(server.hsm().calls()).isEqualTo(hsmCalls);

        server.kms().cancelKeyDeletion(CancelKeyDeletionRequest.newBuilder().setKeyId(key.getKeyId()).build());

        KeyMetadata cancelled = server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()).getKeyMetadata();
        assertThat(cancelled.getKeyState()).isEqualTo(KeyState.KEY_STATE_DISABLED);
        assertThat(cancelled.hasDeletionDate()).isFalse();
        server.kms().enableKey(EnableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build());
        assertThat(server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()).getPlaintext()).isEqualTo(DATA);
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException",
                () -> server.kms().cancelKeyDeletion(CancelKeyDeletionRequest.newBuilder().setKeyId(key.getKeyId()).build()));
    }

    @Test
    void pendingWindow_mustBe7To30Days_defaulting30() {
        KeyMetadata key = createKey();
        for (int days : new int[] {6, 31, -1}) {
            assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().scheduleKeyDeletion(schedule(key.getKeyId(), days)));
        }
        assertThat(server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()).getKeyMetadata()
                .getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);

        ScheduleKeyDeletionResponse scheduled = server.kms().scheduleKeyDeletion(schedule(key.getKeyId(), 0));

        assertThat(scheduled.getPendingWindowInDays()).isEqualTo(30);
        server.kms().cancelKeyDeletion(CancelKeyDeletionRequest.newBuilder().setKeyId(key.getKeyId()).build());
    }

    @Test
    void whenTheWindowEnds_theMaterialIsDestroyedAndTheKeyIsGone() {
        KeyMetadata key = createKey();
        KeyMetadata survivor = createKey();
        server.kms().createAlias(CreateAliasRequest.newBuilder().setAliasName("alias/doomed").setTargetKeyId(key.getKeyId()).build());
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId())).getCiphertextBlob();
        String label = "hsmkms/" + key.getKeyId() + "/1";
        server.kms().scheduleKeyDeletion(schedule(key.getKeyId(), 7));

        server.clock().advance(Duration.ofDays(6));
        server.server().deleteDueKeys();
        assertThat(server.hsm().listKeyLabels()).contains(label);

        server.clock().advance(Duration.ofDays(2));
        server.server().deleteDueKeys();

        assertThat(server.hsm().listKeyLabels()).doesNotContain(label).contains("hsmkms/" + survivor.getKeyId() + "/1");
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()));
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException",
                () -> server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()));
        assertThat(server.kms().listAliases(ListAliasesRequest.getDefaultInstance()).getAliasesList())
                .noneMatch(a -> a.getAliasName().equals("alias/doomed"));
        assertThat(server.server().deleteDueKeys()).as("a second run finds nothing to do").isZero();
        assertThat(server.kms().encrypt(encrypt(survivor.getKeyId())).getKeyId()).isEqualTo(survivor.getArn());
    }

    private static KeyMetadata createKey() {
        return server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
    }

    private static EncryptRequest encrypt(String keyId) {
        return EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(DATA).build();
    }

    private static ScheduleKeyDeletionRequest schedule(String keyId, int days) {
        return ScheduleKeyDeletionRequest.newBuilder().setKeyId(keyId).setPendingWindowInDays(days).build();
    }
}
