package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static io.hsmkms.server.testing.Identities.identity;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status.Code;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.proto.v1.AuditEvent;
import io.hsmkms.proto.v1.CreateAliasRequest;
import io.hsmkms.proto.v1.CreateGrantRequest;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EnableKeyRotationRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GrantOperation;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.proto.v1.WatchEventsRequest;
import io.hsmkms.audit.AuditVerifier;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.testing.KmsTestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every call over gRPC leaves the record an auditor needs, allowed, denied, invalid or failed alike. */
class AuditTrailApiTest {
    private static final String ACCOUNT = KmsTestServer.ACCOUNT;
    private static final String ROOT = KmsTestServer.ROOT;
    private static final String APP = "arn:hsmkms:iam::" + ACCOUNT + ":role/orders-app";
    private static final String AUDITOR = "arn:hsmkms:iam::" + ACCOUNT + ":user/auditor";
    private static final Map<String, String> ORDERS = Map.of("app", "orders");
    private static final String SECRET = "card 4111-1111-1111-1111";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dataDir;
    private static KmsTestServer server;
    private static BearerTokens tokens;

    @BeforeAll
    static void start() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        tokens = new BearerTokens(key, Clock.systemUTC());
        IdentityRegistry identities = new IdentityRegistry(List.of(identity(ROOT), identity(APP),
                identity(AUDITOR, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"kms:Describe*\",\"kms:List*\"],"
                        + "\"Resource\":\"*\"}}")), Map.of());
        server = KmsTestServer.start(dataDir, new KmsServer.Security(identities, tokens, null),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), null);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void allowedEncrypt_recordsWhoWhichKeyVersionContextAliasAndLatency_butNoData() throws Exception {
        String keyId = createKey();
        as(ROOT).createAlias(CreateAliasRequest.newBuilder().setAliasName("alias/orders").setTargetKeyId(keyId).build());
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        ByteString blob = as(ROOT).withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
                .encrypt(EncryptRequest.newBuilder().setKeyId("alias/orders").putAllEncryptionContext(ORDERS)
                        .setPlaintext(ByteString.copyFromUtf8(SECRET)).build()).getCiphertextBlob();
        String requestId = headers.get().get(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER));

        JsonNode record = byRequestId(requestId);

        assertThat(record.get("eventType").asText()).isEqualTo("ApiCall");
        assertThat(record.get("eventName").asText()).isEqualTo("Encrypt");
        assertThat(record.get("outcome").asText()).isEqualTo("Allowed");
        assertThat(record.at("/principal/arn").asText()).isEqualTo(ROOT);
        assertThat(record.at("/principal/accountId").asText()).isEqualTo(ACCOUNT);
        assertThat(record.at("/principal/authMethod").asText()).isEqualTo("TOKEN");
        assertThat(record.at("/principal/sourceIp").asText()).isEqualTo("127.0.0.1");
        assertThat(record.at("/keys/0/keyId").asText()).isEqualTo(keyId);
        assertThat(record.at("/keys/0/keyArn").asText()).endsWith(":key/" + keyId);
        assertThat(record.at("/keys/0/version").asInt()).isEqualTo(1);
        assertThat(record.at("/keys/0/encryptionContext/app").asText()).isEqualTo("orders");
        assertThat(record.get("alias").asText()).isEqualTo("alias/orders");
        assertThat(record.get("algorithm").asText()).isEqualTo("SYMMETRIC_DEFAULT");
        assertThat(record.get("latencyMicros").asLong()).isPositive();
        assertThat(record.has("eventId")).isTrue();
        assertThat(record.has("errorReason")).isFalse();
        String trail = trailText();
        assertThat(trail).doesNotContain(SECRET, base64(SECRET.getBytes(StandardCharsets.UTF_8)),
                base64(blob.toByteArray()));
    }

    @Test
    void aliasChanges_recordTheAliasAndBothKeys() throws Exception {
        String first = createKey();
        String second = createKey();
        as(ROOT).createAlias(CreateAliasRequest.newBuilder().setAliasName("alias/billing").setTargetKeyId(first).build());
        as(ROOT).updateAlias(io.hsmkms.proto.v1.UpdateAliasRequest.newBuilder().setAliasName("alias/billing")
                .setTargetKeyId(second).build());

        assertThat(records()).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("UpdateAlias");
            assertThat(r.get("alias").asText()).isEqualTo("alias/billing");
            assertThat(r.get("outcome").asText()).isEqualTo("Allowed");
            assertThat(List.of(r.at("/keys/0/keyId").asText(), r.at("/keys/1/keyId").asText()))
                    .containsExactlyInAnyOrder(first, second);
        });
    }

    @Test
    void deniedUnauthenticatedAndInvalidCalls_areRecordedWithTheirReasons() throws Exception {
        String keyId = createKey();
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> as(APP).encrypt(encrypt(keyId)));
        assertFails(Code.UNAUTHENTICATED, "UnauthenticatedException", () -> KeyManagementServiceGrpc
                .newBlockingStub(server.channel()).listKeys(ListKeysRequest.getDefaultInstance()));
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> as(ROOT).decrypt(
                DecryptRequest.newBuilder().setCiphertextBlob(ByteString.copyFromUtf8("not a blob")).build()));

        List<JsonNode> records = records();
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("Encrypt");
            assertThat(r.at("/principal/arn").asText()).isEqualTo(APP);
            assertThat(r.get("outcome").asText()).isEqualTo("Denied");
            assertThat(r.get("errorReason").asText()).isEqualTo("AccessDeniedException");
            assertThat(r.at("/keys/0/keyId").asText()).isEqualTo(keyId);
        });
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("ListKeys");
            assertThat(r.at("/principal/arn").isMissingNode()).as("nobody was authenticated").isTrue();
            assertThat(r.at("/principal/sourceIp").asText()).isEqualTo("127.0.0.1");
            assertThat(r.get("outcome").asText()).isEqualTo("Denied");
            assertThat(r.get("errorReason").asText()).isEqualTo("UnauthenticatedException");
        });
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("Decrypt");
            assertThat(r.get("outcome").asText()).isEqualTo("Invalid");
            assertThat(r.get("errorReason").asText()).isEqualTo("InvalidCiphertextException");
        });
    }

    @Test
    void callAllowedByAGrant_namesTheGrant() throws Exception {
        String keyId = createKey();
        String grantId = as(ROOT).createGrant(CreateGrantRequest.newBuilder().setKeyId(keyId).setGranteePrincipal(APP)
                .addOperations(GrantOperation.GRANT_OPERATION_ENCRYPT).build()).getGrantId();

        as(APP).encrypt(encrypt(keyId));

        assertThat(records()).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("Encrypt");
            assertThat(r.at("/principal/arn").asText()).isEqualTo(APP);
            assertThat(r.get("outcome").asText()).isEqualTo("Allowed");
            assertThat(r.get("grantId").asText()).isEqualTo(grantId);
        });
    }

    @Test
    void useOfAKeyPendingDeletion_isAnEventOfItsOwn_andDeletionAndRotationAreServiceEvents() throws Exception {
        String doomed = createKey();
        as(ROOT).scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(doomed).setPendingWindowInDays(7).build());
        assertFails(Code.FAILED_PRECONDITION, "KMSInvalidStateException", () -> as(ROOT).encrypt(encrypt(doomed)));
        String rotating = createKey();
        as(ROOT).enableKeyRotation(EnableKeyRotationRequest.newBuilder().setKeyId(rotating).setRotationPeriodInDays(90).build());

        server.clock().advance(Duration.ofDays(91));
        assertThat(server.server().deleteDueKeys()).isPositive();
        assertThat(server.server().rotateDueKeys()).isPositive();

        List<JsonNode> records = records();
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventType").asText()).isEqualTo("ServiceEvent");
            assertThat(r.get("eventName").asText()).isEqualTo("KeyUsedWhilePendingDeletion");
            assertThat(r.at("/keys/0/keyId").asText()).isEqualTo(doomed);
            assertThat(r.at("/details/principal").asText()).isEqualTo(ROOT);
            assertThat(r.at("/details/operation").asText()).isEqualTo("Encrypt");
        });
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("DeleteKey");
            assertThat(r.get("eventType").asText()).isEqualTo("ServiceEvent");
            assertThat(r.at("/keys/0/keyId").asText()).isEqualTo(doomed);
            assertThat(r.at("/details/versionsDestroyed").asText()).isEqualTo("1");
        });
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("CreateKey");
            assertThat(r.at("/keys/0/keyId").asText()).as("CreateKey names the key it made").isEqualTo(rotating);
            assertThat(r.at("/keys/0/version").asInt()).isEqualTo(1);
        });
        assertThat(records).anySatisfy(r -> {
            assertThat(r.get("eventName").asText()).isEqualTo("RotateKey");
            assertThat(r.at("/keys/0/keyId").asText()).isEqualTo(rotating);
            assertThat(r.at("/details/newVersion").asText()).isEqualTo("2");
        });
    }

    @Test
    void watchEvents_streamsLifecycleChangesOfTheAccount_notTheDataPlane_andNeedsPermission() throws Exception {
        BlockingQueue<AuditEvent> received = new LinkedBlockingQueue<>();
        var call = asAsync(ROOT);
        io.grpc.Context.CancellableContext watching = io.grpc.Context.current().withCancellation();
        watching.run(() -> call.watchEvents(WatchEventsRequest.getDefaultInstance(), collect(received)));
        Thread.sleep(200); // the subscription is made when the call starts on the server

        String keyId = createKey();
        as(ROOT).encrypt(encrypt(keyId));
        as(ROOT).scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(keyId).build());

        List<String> names = new ArrayList<>();
        while (!names.contains("ScheduleKeyDeletion")) {
            AuditEvent event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("events so far: %s", names).isNotNull();
            names.add(event.getEventName());
            assertThat(event.getRecordJson()).contains("\"seq\":" + event.getSeq());
        }
        watching.cancel(null);
        assertThat(names).contains("CreateKey").doesNotContain("Encrypt");

        BlockingQueue<AuditEvent> none = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> refused = new AtomicReference<>();
        asAsync(AUDITOR).watchEvents(WatchEventsRequest.getDefaultInstance(), new StreamObserver<>() {
            public void onNext(AuditEvent value) { none.add(value); }
            public void onError(Throwable t) { refused.set(t); }
            public void onCompleted() { }
        });
        for (int i = 0; i < 200 && refused.get() == null; i++) {
            Thread.sleep(50);
        }
        assertThat(KmsTestServer.reason((io.grpc.StatusRuntimeException) refused.get())).isEqualTo("AccessDeniedException");
    }

    @Test
    void theTrailOfAllOfThis_verifies() throws IOException {
        createKey();

        AuditVerifier.Report report = AuditVerifier.verify(KmsTestServer.auditDir(dataDir), null);

        assertThat(report.problems()).isEmpty();
        assertThat(report.records()).isPositive();
    }

    private static String createKey() {
        return as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
    }

    private static EncryptRequest encrypt(String keyId) {
        return EncryptRequest.newBuilder().setKeyId(keyId).putAllEncryptionContext(ORDERS)
                .setPlaintext(ByteString.copyFromUtf8(SECRET)).build();
    }

    private static JsonNode byRequestId(String requestId) throws IOException {
        return records().stream().filter(r -> requestId.equals(r.path("requestId").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no record for request " + requestId));
    }

    private static List<JsonNode> records() throws IOException {
        List<JsonNode> records = new ArrayList<>();
        for (String line : trailText().split("\n")) {
            if (!line.isBlank()) {
                records.add(JSON.readTree(line));
            }
        }
        return records;
    }

    private static String trailText() throws IOException {
        StringBuilder text = new StringBuilder();
        try (Stream<Path> files = Files.list(KmsTestServer.auditDir(dataDir))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
                TrailFiles.recordLines(file).forEach(line -> text.append(line).append('\n'));
            }
        }
        return text.toString();
    }

    private static String base64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    private static StreamObserver<AuditEvent> collect(BlockingQueue<AuditEvent> into) {
        return new StreamObserver<>() {
            public void onNext(AuditEvent value) { into.add(value); }
            public void onError(Throwable t) { }
            public void onCompleted() { }
        };
    }

    private static KeyManagementServiceBlockingStub as(String principal) {
        return KeyManagementServiceGrpc.newBlockingStub(server.channel()).withInterceptors(bearer(principal))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static KeyManagementServiceGrpc.KeyManagementServiceStub asAsync(String principal) {
        return KeyManagementServiceGrpc.newStub(server.channel()).withInterceptors(bearer(principal));
    }

    private static io.grpc.ClientInterceptor bearer(String principal) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
                "Bearer " + tokens.issue(principal, Duration.ofHours(1), false));
        return MetadataUtils.newAttachHeadersInterceptor(headers);
    }
}
