package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyListEntry;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.ListKeysResponse;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the real server while keys are being created and rotated, then a restart on the same
 * token and data directory: every key the service knows works with every version it names, and the
 * only HSM objects nobody names are the orphans the restarted server's reconciler reports.
 */
class CrashConsistencyTest {
    private static final Pattern REPORTED = Pattern.compile("HSM objects with no metadata[^\\[]*\\[([^\\]]*)\\]");

    @TempDir
    static Path dataDir;
    private static SoftHsmToken token;

    @BeforeAll
    static void createToken() {
        token = SoftHsmToken.create();
    }

    @AfterAll
    static void deleteToken() {
        token.close();
    }

    @Test
    void killDuringCreatesAndRotations_losesNothingAndLeavesOnlyReportedOrphans() throws Exception {
        List<String> keys = new CopyOnWriteArrayList<>();
        AtomicInteger operations = new AtomicInteger();
        try (ServerProcess first = ServerProcess.start(token, dataDir)) {
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
                                kms.rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder()
                                        .setKeyId(keys.get(operations.get() % keys.size())).build());
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

        try (ServerProcess second = ServerProcess.start(token, dataDir)) {
            KeyManagementServiceBlockingStub kms = stub(second);
            // Rotated versions have a random label suffix, so the API does not tell their labels; what it tells is
            // which versions exist, and each must have exactly one object the reconciler did not call an orphan.
            Set<String> versions = new HashSet<>();
            for (String keyId : allKeys(kms)) {
                int current = kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(keyId).build())
                        .getKeyMetadata().getCurrentKeyVersion();
                for (int v = 1; v <= current; v++) {
                    versions.add("hsmkms/" + keyId + "/" + v);
                }
                ByteString blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                        .setPlaintext(ByteString.copyFromUtf8("after the crash")).build()).getCiphertextBlob();
                assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()).getPlaintext()
                        .toStringUtf8()).isEqualTo("after the crash");
            }
            Set<String> inToken = tokenLabels();
            Thread.sleep(500);
            Set<String> reported = reported(second.output());
            assertThat(inToken).as("every reported orphan is a token object").containsAll(reported);
            Set<String> kept = new HashSet<>(inToken);
            kept.removeAll(reported);
            assertThat(kept.stream().map(CrashConsistencyTest::versionOf).toList())
                    .as("the objects not reported as orphans are exactly one per existing version; token listing:%n%s",
                            token.pkcs11Tool("--list-objects", "--type", "secrkey").output())
                    .containsExactlyInAnyOrderElementsOf(versions);
            assertThat(second.output()).doesNotContain("metadata names HSM objects that the token does not have");
        }
    }

    /** {@code hsmkms/<key>/<version>} of a label, without a rotation or import suffix. */
    private static String versionOf(String label) {
        String[] parts = label.split("/");
        return parts[0] + "/" + parts[1] + "/" + parts[2];
    }

    private static List<String> allKeys(KeyManagementServiceBlockingStub kms) {
        List<String> ids = new ArrayList<>();
        String marker = "";
        while (true) {
            ListKeysResponse page = kms.listKeys(ListKeysRequest.newBuilder().setLimit(1000).setMarker(marker).build());
            page.getKeysList().stream().map(KeyListEntry::getKeyId).forEach(ids::add);
            if (!page.getTruncated()) {
                return ids;
            }
            marker = page.getNextMarker();
        }
    }

    private static Set<String> tokenLabels() {
        return token.secretKeyLabels().stream().filter(l -> l.startsWith("hsmkms/")).collect(java.util.stream.Collectors.toSet());
    }

    private static Set<String> reported(String log) {
        Set<String> labels = new HashSet<>();
        Matcher m = REPORTED.matcher(log);
        while (m.find()) {
            for (String label : m.group(1).split(",")) {
                if (!label.isBlank()) {
                    labels.add(label.trim());
                }
            }
        }
        return labels;
    }

    private static KeyManagementServiceBlockingStub stub(ServerProcess server) {
        return KeyManagementServiceGrpc.newBlockingStub(server.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
    }
}
