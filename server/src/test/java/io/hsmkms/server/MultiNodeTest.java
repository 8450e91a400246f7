package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.CreateAliasRequest;
import io.hsmkms.proto.v1.CreateGrantRequest;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EnableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GrantListEntry;
import io.hsmkms.proto.v1.GrantOperation;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ListGrantsRequest;
import io.hsmkms.proto.v1.ListKeyRotationsRequest;
import io.hsmkms.proto.v1.PutKeyPolicyRequest;
import io.hsmkms.proto.v1.RevokeGrantRequest;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.server.store.ExternalDatabase;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.testing.ServerProcess;
import io.hsmkms.server.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two real server processes (nodes A and B) on one PostgreSQL database and one SoftHSM token directory, as in a
 * deployment of several nodes: what one node does, the other sees at once.
 */
class MultiNodeTest {
    private static final String ALLOW_ROOT = "{\"Sid\":\"root\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + KmsTestServer.ROOT + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}";
    private static final String DENY_ENCRYPT = "{\"Sid\":\"no-encrypt\",\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
            + KmsTestServer.ROOT + "\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}";

    private static TestPostgres postgres;
    private static SoftHsmToken token;
    private static ExternalDatabase database;
    private static Path dirA;
    private static Path dirB;
    private static ServerProcess nodeA;
    private static ServerProcess nodeB;

    @BeforeAll
    static void startNodes() throws Exception {
        postgres = TestPostgres.start();
        token = SoftHsmToken.create();
        database = postgres.newDatabase();
        dirA = Files.createTempDirectory("hsmkms-node-a");
        dirB = Files.createTempDirectory("hsmkms-node-b");
        startBoth();
    }

    @AfterAll
    static void stopNodes() {
        for (AutoCloseable closeable : new AutoCloseable[] {nodeA, nodeB, token, postgres}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                // Keep closing the rest.
            }
        }
    }

    @Test
    void keyCreatedOnA_isUsableOnB_andStatePolicyGrantsAndAliases_applyOnTheOtherNodeAtOnce() {
        KeyManagementServiceBlockingStub a = stub(nodeA);
        KeyManagementServiceBlockingStub b = stub(nodeB);
        String keyId = a.createKey(CreateKeyRequest.newBuilder().setDescription("shared").build()).getKeyMetadata().getKeyId();

        // B has never seen this HSM object: it must find it in the token at the first request.
        ByteString blob = encrypt(b, keyId, "made on A, used on B");
        assertThat(decrypt(a, blob)).isEqualTo("made on A, used on B");

        a.disableKey(DisableKeyRequest.newBuilder().setKeyId(keyId).build());
        assertFails(Code.FAILED_PRECONDITION, "DisabledException", () -> encrypt(b, keyId, "x"));
        b.enableKey(EnableKeyRequest.newBuilder().setKeyId(keyId).build());
        encrypt(a, keyId, "enabled again");

        a.putKeyPolicy(policy(keyId, ALLOW_ROOT + "," + DENY_ENCRYPT));
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> encrypt(b, keyId, "x"));
        assertThat(decrypt(b, blob)).as("only Encrypt is denied").isEqualTo("made on A, used on B");
        b.putKeyPolicy(policy(keyId, ALLOW_ROOT));
        encrypt(a, keyId, "allowed again");

        String grantId = a.createGrant(CreateGrantRequest.newBuilder().setKeyId(keyId)
                .setGranteePrincipal("arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":role/app")
                .addOperations(GrantOperation.GRANT_OPERATION_DECRYPT).build()).getGrantId();
        assertThat(b.listGrants(ListGrantsRequest.newBuilder().setKeyId(keyId).build()).getGrantsList())
                .extracting(GrantListEntry::getGrantId).containsExactly(grantId);
        b.revokeGrant(RevokeGrantRequest.newBuilder().setKeyId(keyId).setGrantId(grantId).build());
        assertThat(a.listGrants(ListGrantsRequest.newBuilder().setKeyId(keyId).build()).getGrantsList()).isEmpty();

        a.createAlias(CreateAliasRequest.newBuilder().setAliasName("alias/multi-node").setTargetKeyId(keyId).build());
        assertThat(decrypt(a, encrypt(b, "alias/multi-node", "by alias on B"))).isEqualTo("by alias on B");
        assertFails(Code.ALREADY_EXISTS, "AlreadyExistsException", () -> b.createAlias(
                CreateAliasRequest.newBuilder().setAliasName("alias/multi-node").setTargetKeyId(keyId).build()));
    }

    @Test
    void rotationsOnBothNodesAtTheSameMoment_loseNoKeyMaterial() throws Exception {
        KeyManagementServiceBlockingStub a = stub(nodeA);
        KeyManagementServiceBlockingStub b = stub(nodeB);
        // SoftHSM loses track of an object another process makes just before its own (docs/architecture.md):
        // the nodes take turns for token writes.
        assertThat(nodeA.output()).contains("token writes locked with the other nodes");
        assertThat(nodeB.output()).contains("token writes locked with the other nodes");
        // Several keys rotated at once from both nodes: the more calls in flight, the likelier two rotations of one
        // key overlap (both read revision r, both make version r+1); each key stays below 10 on-demand rotations.
        List<String> keyIds = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            keyIds.add(a.createKey(CreateKeyRequest.newBuilder().setDescription("rotated at once " + i).build())
                    .getKeyMetadata().getKeyId());
        }
        Map<ByteString, String> blobs = new java.util.LinkedHashMap<>();
        Map<String, Integer> rotations = new java.util.HashMap<>();
        int collisions = 0;
        for (int round = 0; round < 3; round++) {
            for (String keyId : keyIds) {
                for (KeyManagementServiceBlockingStub node : List.of(a, b)) {
                    String text = "round " + round + " key " + keyId + " node " + (node == a ? "A" : "B");
                    blobs.put(encrypt(node, keyId, text), text);
                }
            }
            CountDownLatch go = new CountDownLatch(1);
            Map<String, List<CompletableFuture<Boolean>>> attempts = new java.util.HashMap<>();
            for (String keyId : keyIds) {
                for (KeyManagementServiceBlockingStub node : List.of(a, b)) {
                    attempts.computeIfAbsent(keyId, k -> new ArrayList<>()).add(CompletableFuture.supplyAsync(() -> {
                        awaitQuietly(go);
                        try {
                            node.rotateKeyOnDemand(RotateKeyOnDemandRequest.newBuilder().setKeyId(keyId).build());
                            return true;
                        } catch (StatusRuntimeException e) {
                            // The loser of the metadata race: the only acceptable failure.
                            assertThat(KmsTestServer.reason(e)).as("%s; logs:%n%s", e.getStatus(), problems())
                                    .isEqualTo("ThrottlingException");
                            return false;
                        }
                    }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
                }
            }
            go.countDown();
            for (Map.Entry<String, List<CompletableFuture<Boolean>>> perKey : attempts.entrySet()) {
                int won = 0;
                for (CompletableFuture<Boolean> attempt : perKey.getValue()) {
                    won += attempt.get(60, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertThat(won).as("at least one rotation of a key per round succeeds").isPositive();
                rotations.merge(perKey.getKey(), won, Integer::sum);
                collisions += 2 - won;
            }
        }

        for (KeyManagementServiceBlockingStub node : List.of(a, b)) {
            for (Map.Entry<ByteString, String> blob : blobs.entrySet()) {
                assertThat(decrypt(node, blob.getKey())).isEqualTo(blob.getValue());
            }
        }
        Set<String> labels = tokenLabels();
        for (String keyId : keyIds) {
            blobs.put(encrypt(b, keyId, "after all rotations"), "after all rotations");
            int current = a.describeKey(DescribeKeyRequest.newBuilder().setKeyId(keyId).build()).getKeyMetadata()
                    .getCurrentKeyVersion();
            assertThat(current).isEqualTo(1 + rotations.get(keyId));
            assertThat(b.listKeyRotations(ListKeyRotationsRequest.newBuilder().setKeyId(keyId).build()).getRotationsCount())
                    .isEqualTo(rotations.get(keyId));
            assertThat(labels.stream().filter(l -> l.startsWith("hsmkms/" + keyId + "/")).toList())
                    .as("one object per version: race losers destroyed only their own").hasSize(current);
        }
        System.out.printf("MultiNodeTest: %d rotations, %d lost a race%n",
                rotations.values().stream().mapToInt(Integer::intValue).sum(), collisions);
    }

    @Test
    void keyDueForDeletion_isDestroyedOnceAcrossNodes_andTheLogsAgree() throws Exception {
        KeyManagementServiceBlockingStub a = stub(nodeA);
        String due = a.createKey(CreateKeyRequest.newBuilder().setDescription("due").build()).getKeyMetadata().getKeyId();
        String crashed = a.createKey(CreateKeyRequest.newBuilder().setDescription("claimed by a node that died")
                .build()).getKeyMetadata().getKeyId();
        String claimed = a.createKey(CreateKeyRequest.newBuilder().setDescription("being deleted elsewhere")
                .build()).getKeyMetadata().getKeyId();
        for (String keyId : List.of(due, crashed, claimed)) {
            stub(nodeB).scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(keyId).setPendingWindowInDays(7).build());
        }
        Set<String> labelsBefore = tokenLabels();
        nodeA.stop();
        nodeB.stop();
        // Time travel in the database instead of waiting 7 days: the nodes' clocks are real.
        try (Connection db = TestPostgres.connect(database)) {
            setDeletion(db, due, "PENDING_DELETION", Duration.ofMinutes(-1));
            setDeletion(db, crashed, "DELETING", Duration.ofMinutes(-1));
            setDeletion(db, claimed, "DELETING", Duration.ofMinutes(4));
        }

        startBoth();

        awaitGone(due);
        awaitGone(crashed);
        String logs = nodeA.output() + "\n" + nodeB.output();
        assertThat(count(logs, "key " + due + " deleted")).as("deleted by exactly one node:%n%s", logs).isEqualTo(1);
        assertThat(count(logs, "key " + crashed + " deleted")).as("taken over by exactly one node").isEqualTo(1);
        assertThat(logs).doesNotContain("key " + claimed + " deleted").doesNotContain("could not destroy");
        Set<String> labelsAfter = tokenLabels();
        assertThat(labelsBefore).contains("hsmkms/" + due + "/1", "hsmkms/" + crashed + "/1");
        assertThat(labelsAfter).doesNotContain("hsmkms/" + due + "/1", "hsmkms/" + crashed + "/1")
                .contains("hsmkms/" + claimed + "/1");
    }

    private static void startBoth() throws Exception {
        Map<String, String> env = Map.of(
                ServerConfig.DATABASE_URL, database.url(),
                ServerConfig.DATABASE_USER, database.user(),
                ServerConfig.DATABASE_PASSWORD_FILE, database.passwordFile().toString());
        // At the same moment: both run the deletion job at start, so they race for due keys.
        CompletableFuture<ServerProcess> a = CompletableFuture.supplyAsync(() -> ServerProcess.start(token, dirA, env));
        CompletableFuture<ServerProcess> b = CompletableFuture.supplyAsync(() -> ServerProcess.start(token, dirB, env));
        nodeA = a.get(120, TimeUnit.SECONDS);
        nodeB = b.get(120, TimeUnit.SECONDS);
    }

    private static void setDeletion(Connection db, String keyId, String state, Duration fromNow) throws Exception {
        try (PreparedStatement update = db.prepareStatement(
                "UPDATE cmk SET state = ?, deletion_date = now() + ?::interval, revision = revision + 1 WHERE id = ?")) {
            update.setString(1, state);
            update.setString(2, fromNow.toSeconds() + " seconds");
            update.setString(3, keyId);
            assertThat(update.executeUpdate()).isEqualTo(1);
        }
    }

    private static void awaitGone(String keyId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try {
                stub(nodeA).describeKey(DescribeKeyRequest.newBuilder().setKeyId(keyId).build());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Code.NOT_FOUND) {
                    return;
                }
                throw e;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("key " + keyId + " was not deleted; logs:\n" + nodeA.output() + "\n" + nodeB.output());
    }

    /** The nodes' log lines above INFO, for failure messages. */
    private static String problems() {
        return (nodeA.output() + "\n" + nodeB.output()).lines().filter(l -> l.contains("WARN") || l.contains("ERROR") || l.contains("KMSInternal"))
                .collect(java.util.stream.Collectors.joining("\n"));
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    private static Set<String> tokenLabels() {
        return token.secretKeyLabels().stream().filter(l -> l.startsWith("hsmkms/")).collect(java.util.stream.Collectors.toSet());
    }

    private static PutKeyPolicyRequest policy(String keyId, String statements) {
        return PutKeyPolicyRequest.newBuilder().setKeyId(keyId).setPolicyName("default")
                .setPolicy("{\"Version\":\"2012-10-17\",\"Statement\":[" + statements + "]}").build();
    }

    private static ByteString encrypt(KeyManagementServiceBlockingStub kms, String keyId, String text) {
        return withLogs(() -> kms.encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                .setPlaintext(ByteString.copyFromUtf8(text)).build()).getCiphertextBlob());
    }

    private static String decrypt(KeyManagementServiceBlockingStub kms, ByteString blob) {
        return withLogs(() -> kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()).getPlaintext()
                .toStringUtf8());
    }

    /** A failed call as-is, with the nodes' warnings and errors attached so a failure explains itself. */
    private static <T> T withLogs(java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (StatusRuntimeException e) {
            e.addSuppressed(new AssertionError("node logs:\n" + problems()));
            throw e;
        }
    }

    private static KeyManagementServiceBlockingStub stub(ServerProcess node) {
        return KeyManagementServiceGrpc.newBlockingStub(node.channel()).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
