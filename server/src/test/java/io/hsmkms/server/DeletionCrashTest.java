package io.hsmkms.server;

import static io.hsmkms.server.testing.CrashChecks.MISSING_MATERIAL;
import static io.hsmkms.server.testing.CrashChecks.RECONCILED;
import static io.hsmkms.server.testing.CrashChecks.reportedOrphans;
import static io.hsmkms.server.testing.CrashChecks.stub;
import static io.hsmkms.server.testing.CrashChecks.tokenLabels;
import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.hsmkms.hsm.testing.SoftHsmTokenExtension;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.server.testing.CrashChecks;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the real server while its deletion job is destroying keys (between one backing version
 * and the next, or between the last destroy and the metadata delete), then a restart: the job
 * finishes every key it had started, and keys not due are untouched.
 */
class DeletionCrashTest {
    private static final int DOOMED = 12;
    private static final int KEPT = 4;
    private static final int ROTATIONS = 10;
    private static final Pattern DELETED = Pattern.compile("key \\S+ deleted: ");

    @TempDir
    static Path dataDir;
    @RegisterExtension
    static final SoftHsmTokenExtension tokens = new SoftHsmTokenExtension();

    @Test
    void killDuringTheDeletionJob_theRestartFinishesItAndKeepsEveryOtherKey() throws Exception {
        List<String> doomed = new ArrayList<>();
        Map<String, ByteString> kept = new HashMap<>();
        Map<String, ByteString> doomedBlobs = new HashMap<>();
        try (ServerProcess first = ServerProcess.start(tokens.get(), dataDir)) {
            KeyManagementServiceBlockingStub kms = stub(first);
            for (int i = 0; i < DOOMED + KEPT; i++) {
                String id = kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
                for (int r = 0; r < ROTATIONS; r++) {
                    kms.rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(id).build());
                }
                ByteString blob = encrypt(kms, id);
                if (i < DOOMED) {
                    doomed.add(id);
                    doomedBlobs.put(id, blob);
                    kms.scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(id)
                            .setPendingWindowInDays(7).build());
                } else {
                    kept.put(id, blob);
                }
            }
            first.stop();
        }
        windowsEndedWhileTheServiceWasDown();

        String killedLog;
        try (ServerProcess second = ServerProcess.start(tokens.get(), dataDir)) {
            assertThat(second.awaitOutput(" deleted: ", Duration.ofSeconds(60))).as(second.output()).isTrue();
            second.kill();
            killedLog = second.output();
        }
        long deletedBeforeKill = DELETED.matcher(killedLog).results().count();
        assertThat(deletedBeforeKill).as("the kill hit the job half way").isLessThan(DOOMED);

        try (ServerProcess third = ServerProcess.start(tokens.get(), dataDir)) {
            assertThat(third.awaitOutput(RECONCILED, Duration.ofSeconds(60))).isTrue();
            KeyManagementServiceBlockingStub kms = stub(third);
            for (String id : doomed) {
                awaitGone(kms, id);
                assertFails(Status.Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> kms.decrypt(
                        DecryptRequest.newBuilder().setCiphertextBlob(doomedBlobs.get(id)).build()));
            }
            for (Map.Entry<String, ByteString> key : kept.entrySet()) {
                assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(key.getValue()).build())
                        .getPlaintext().toStringUtf8()).isEqualTo("kept " + key.getKey());
            }
            Set<String> labels = tokenLabels(tokens.get());
            for (String id : doomed) {
                assertThat(labels).as("nothing of a deleted key stays in the token")
                        .noneMatch(label -> label.startsWith("hsmkms/" + id + "/"));
            }
            Set<String> versions = labels.stream().map(CrashChecks::versionOf).collect(java.util.stream.Collectors.toSet());
            for (String id : kept.keySet()) {
                for (int v = 1; v <= ROTATIONS + 1; v++) {
                    assertThat(versions).contains("hsmkms/" + id + "/" + v);
                }
            }
            assertThat(DELETED.matcher(third.output()).results().count())
                    .as("the restart finished what the killed run had not").isEqualTo(DOOMED - deletedBeforeKill);
            assertThat(third.output()).doesNotContain(MISSING_MATERIAL);
            assertThat(reportedOrphans(third.output())).isEmpty();
        }
    }

    private static ByteString encrypt(KeyManagementServiceBlockingStub kms, String id) {
        return kms.encrypt(EncryptRequest.newBuilder().setKeyId(id).setPlaintext(ByteString.copyFromUtf8("kept " + id)).build())
                .getCiphertextBlob();
    }

    /** Time passes while the service is down: the stored deadlines move into the past. */
    private static void windowsEndedWhileTheServiceWasDown() throws Exception {
        String url = "jdbc:h2:file:" + dataDir.resolve("metadata").resolve("hsmkms").toAbsolutePath();
        try (Connection db = DriverManager.getConnection(url, "hsmkms", "");
             PreparedStatement update = db.prepareStatement(
                     "UPDATE cmk SET deletion_date = ? WHERE state = 'PENDING_DELETION'")) {
            update.setObject(1, OffsetDateTime.now(ZoneOffset.UTC).minusDays(1));
            assertThat(update.executeUpdate()).isEqualTo(DOOMED);
        }
    }

    private static void awaitGone(KeyManagementServiceBlockingStub kms, String id) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(id).build());
            } catch (io.grpc.StatusRuntimeException e) {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("key " + id + " was not deleted after the restart");
    }
}
