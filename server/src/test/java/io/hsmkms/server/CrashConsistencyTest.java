package io.hsmkms.server;

import static io.hsmkms.server.testing.CrashChecks.MISSING_MATERIAL;
import static io.hsmkms.server.testing.CrashChecks.RECONCILED;
import static io.hsmkms.server.testing.CrashChecks.allKeys;
import static io.hsmkms.server.testing.CrashChecks.reportedOrphans;
import static io.hsmkms.server.testing.CrashChecks.stub;
import static io.hsmkms.server.testing.CrashChecks.tokenLabels;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.hsm.testing.SoftHsmTokenExtension;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.server.testing.CrashChecks;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the real server while keys are being created and rotated, then a restart on the same
 * token and data directory: every key the service knows works with every version it names, and the
 * only HSM objects nobody names are the orphans the restarted server's reconciler reports.
 */
class CrashConsistencyTest {
    @TempDir
    static Path dataDir;
    @RegisterExtension
    static final SoftHsmTokenExtension tokens = new SoftHsmTokenExtension();

    @Test
    void killDuringCreatesAndRotations_losesNothingAndLeavesOnlyReportedOrphans() throws Exception {
        List<String> keys = new CopyOnWriteArrayList<>();
        Map<String, Integer> acknowledgedRotations = new ConcurrentHashMap<>();
        AtomicInteger operations = new AtomicInteger();
        try (ServerProcess first = ServerProcess.start(tokens.get(), dataDir)) {
            KeyManagementServiceBlockingStub kms = stub(first);
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService load = Executors.newFixedThreadPool(4);
            for (int t = 0; t < 4; t++) {
                int thread = t;
                load.submit(() -> {
                    while (running.get()) {
                        try {
                            if (keys.isEmpty() || thread % 2 == 0) {
                                keys.add(kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId());
                            } else {
                                String keyId = keys.get(operations.get() % keys.size());
                                kms.rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(keyId).build());
                                acknowledgedRotations.merge(keyId, 1, Integer::sum);
                            }
                            operations.incrementAndGet();
                        } catch (RuntimeException e) {
                            // limits and the kill itself: expected under this load
                        }
                    }
                });
            }
            Thread.sleep(2500);
            first.kill();
            running.set(false);
            load.shutdown();
            assertThat(load.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(operations.get()).as("the kill hit a server under load").isGreaterThan(10);

        try (ServerProcess second = ServerProcess.start(tokens.get(), dataDir)) {
            assertThat(second.awaitOutput(RECONCILED, Duration.ofSeconds(60))).isTrue();
            KeyManagementServiceBlockingStub kms = stub(second);
            // Rotated versions have a random label suffix, so the API does not tell their labels; what it tells is
            // which versions exist, and each must have exactly one object the reconciler did not call an orphan.
            Set<String> versions = new HashSet<>();
            List<String> survivors = allKeys(kms);
            assertThat(survivors).as("every key whose CreateKey was answered survived the kill").containsAll(keys);
            for (String keyId : survivors) {
                int current = kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(keyId).build())
                        .getKeyMetadata().getCurrentKeyVersion();
                assertThat(current).as("every answered rotation of %s survived", keyId)
                        .isGreaterThanOrEqualTo(1 + acknowledgedRotations.getOrDefault(keyId, 0));
                for (int v = 1; v <= current; v++) {
                    versions.add("hsmkms/" + keyId + "/" + v);
                }
                ByteString blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                        .setPlaintext(ByteString.copyFromUtf8("after the crash")).build()).getCiphertextBlob();
                assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()).getPlaintext()
                        .toStringUtf8()).isEqualTo("after the crash");
            }
            Set<String> inToken = tokenLabels(tokens.get());
            Set<String> reported = reportedOrphans(second.output());
            assertThat(inToken).as("every reported orphan is a token object").containsAll(reported);
            Set<String> kept = new HashSet<>(inToken);
            kept.removeAll(reported);
            assertThat(kept.stream().map(CrashChecks::versionOf).toList())
                    .as("the objects not reported as orphans are exactly one per existing version; token listing:%n%s",
                            tokens.get().pkcs11Tool("--list-objects", "--type", "secrkey").output())
                    .containsExactlyInAnyOrderElementsOf(versions);
            assertThat(second.output()).doesNotContain(MISSING_MATERIAL);
        }
    }
}
