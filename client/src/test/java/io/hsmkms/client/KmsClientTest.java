package io.hsmkms.client;

import static io.hsmkms.server.testing.Identities.identity;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.hsmkms.client.errors.AccessDeniedException;
import io.hsmkms.client.errors.DisabledException;
import io.hsmkms.client.errors.InvalidCiphertextException;
import io.hsmkms.client.errors.KeyUnavailableException;
import io.hsmkms.client.errors.KmsException;
import io.hsmkms.client.errors.NotFoundException;
import io.hsmkms.client.errors.UnauthenticatedException;
import io.hsmkms.client.errors.ValidationException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.proto.v1.AuditEvent;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptResponse;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.GenerateDataKeyResponse;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.ListAliasesRequest;
import io.hsmkms.proto.v1.ReEncryptRequest;
import io.hsmkms.proto.v1.ReEncryptResponse;
import io.hsmkms.proto.v1.UpdateKeyDescriptionRequest;
import io.hsmkms.proto.v1.WatchEventsRequest;
import io.hsmkms.server.KmsServer;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.testing.KmsServerExtension;
import io.hsmkms.server.testing.KmsTestServer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** KmsClient against a real server on a fresh SoftHSM2 token: round trips, typed errors, retries. */
class KmsClientTest {
    private static final String READER = "arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":user/reader";
    private static final Map<String, String> CONTEXT = Map.of("tenant", "acme");
    private static final byte[] TOKEN_KEY = randomBytes(32);
    private static final BearerTokens TOKENS = new BearerTokens(TOKEN_KEY, Clock.systemUTC());

    /** Unauthenticated loopback callers act as the account root; a bearer token makes you the reader. */
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension(dir -> KmsTestServer.start(dir,
            new KmsServer.Security(new IdentityRegistry(List.of(identity(KmsTestServer.ROOT), identity(READER,
                    "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:DescribeKey\",\"Resource\":\"*\"}}")),
                    Map.of()), TOKENS, KmsTestServer.ROOT),
            NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), null));

    private static final CallCounter calls = new CallCounter();
    private static KmsClient kms;
    private static KeyMetadata key;

    @BeforeAll
    static void connect() {
        kms = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true)
                .intercept(calls).build();
        key = kms.createKey(CreateKeyRequest.newBuilder().setDescription("client test").build());
    }

    @AfterAll
    static void close() {
        kms.close();
    }

    @BeforeEach
    void resetCounts() {
        calls.reset();
    }

    @Test
    void encryptDecryptAndReEncrypt_roundTrip() {
        byte[] secret = "card 4111".getBytes(StandardCharsets.UTF_8);
        EncryptResponse encrypted = kms.encrypt(key.getKeyId(), secret, CONTEXT);
        assertThat(encrypted.getKeyId()).isEqualTo(key.getArn());

        DecryptResponse decrypted = kms.decrypt(encrypted.getCiphertextBlob().toByteArray(), CONTEXT);
        assertThat(decrypted.getPlaintext().toByteArray()).isEqualTo(secret);

        KeyMetadata other = kms.createKey(CreateKeyRequest.getDefaultInstance());
        ReEncryptResponse re = kms.reEncrypt(ReEncryptRequest.newBuilder()
                .setCiphertextBlob(encrypted.getCiphertextBlob()).putAllSourceEncryptionContext(CONTEXT)
                .setDestinationKeyId(other.getKeyId()).build());
        assertThat(re.getKeyId()).isEqualTo(other.getArn());
        assertThat(kms.decrypt(re.getCiphertextBlob().toByteArray(), Map.of()).getPlaintext().toByteArray())
                .isEqualTo(secret);
    }

    @Test
    void generateDataKey_plaintextDecryptsFromItsBlob_andRandomHasTheAskedLength() {
        GenerateDataKeyResponse dataKey = kms.generateDataKey(key.getKeyId(), CONTEXT);
        assertThat(dataKey.getPlaintext().size()).isEqualTo(32);
        assertThat(kms.decrypt(dataKey.getCiphertextBlob().toByteArray(), CONTEXT).getPlaintext())
                .isEqualTo(dataKey.getPlaintext());
        byte[] blob = kms.generateDataKeyWithoutPlaintext(key.getKeyId(), CONTEXT).getCiphertextBlob().toByteArray();
        assertThat(kms.decrypt(blob, CONTEXT).getPlaintext().size()).isEqualTo(32);

        assertThat(kms.generateRandom(17)).hasSize(17);
    }

    @Test
    void keyManagement_aliasesAndState() {
        KeyMetadata k = kms.createKey(CreateKeyRequest.newBuilder().setDescription("managed").build());
        kms.createAlias("alias/client-test", k.getKeyId());
        assertThat(kms.describeKey("alias/client-test").getKeyId()).isEqualTo(k.getKeyId());
        assertThat(kms.listAliases(ListAliasesRequest.newBuilder().setKeyId(k.getKeyId()).build()).getAliasesList())
                .extracting(a -> a.getAliasName()).containsExactly("alias/client-test");

        kms.disableKey(k.getKeyId());
        assertThat(kms.describeKey(k.getKeyId()).getKeyState()).isEqualTo(KeyState.KEY_STATE_DISABLED);
        DisabledException disabled = catchThrowableOfType(DisabledException.class,
                () -> kms.encrypt(k.getKeyId(), new byte[] {1}, Map.of()));
        assertThat(disabled.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        kms.enableKey(k.getKeyId());
        assertThat(kms.encrypt(k.getKeyId(), new byte[] {1}, Map.of()).getKeyId()).isEqualTo(k.getArn());
    }

    @Test
    void unknownKey_isNotFound_withReasonAndRequestId_andIsNotRetried() {
        NotFoundException e = catchThrowableOfType(NotFoundException.class,
                () -> kms.describeKey(UUID.randomUUID().toString()));

        assertThat(e.reason()).isEqualTo("NotFoundException");
        assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(e.requestId()).isNotBlank();
        assertThat(e.isRetryable()).isFalse();
        assertThat(calls.count("DescribeKey")).isEqualTo(1);
    }

    @Test
    void tamperedCiphertext_isInvalidCiphertext() {
        byte[] blob = kms.encrypt(key.getKeyId(), new byte[] {1, 2, 3}, CONTEXT).getCiphertextBlob().toByteArray();
        blob[blob.length - 1] ^= 1;

        assertThat(catchThrowableOfType(InvalidCiphertextException.class, () -> kms.decrypt(blob, CONTEXT)).code())
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(calls.count("Decrypt")).isEqualTo(1);
    }

    @Test
    void outOfRangeRandom_isValidation() {
        assertThat(catchThrowableOfType(ValidationException.class, () -> kms.generateRandom(0)).reason())
                .isEqualTo("ValidationException");
    }

    @Test
    void identityWithoutPermission_isAccessDenied_andBadTokenIsUnauthenticated() {
        String token = TOKENS.issue(READER, Duration.ofMinutes(10), false);
        try (KmsClient reader = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true)
                .bearerToken(token).build()) {
            assertThat(reader.describeKey(key.getKeyId()).getArn()).isEqualTo(key.getArn());
            AccessDeniedException denied = catchThrowableOfType(AccessDeniedException.class,
                    () -> reader.encrypt(key.getKeyId(), new byte[] {1}, Map.of()));
            assertThat(denied.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
        }
        String forged = new BearerTokens(randomBytes(32), Clock.systemUTC()).issue(READER, Duration.ofMinutes(10), false);
        try (KmsClient impostor = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true)
                .bearerToken(forged).build()) {
            catchThrowableOfType(UnauthenticatedException.class, () -> impostor.describeKey(key.getKeyId()));
        }
    }

    @Test
    void nobodyListening_isRetriedUpToMaxAttempts_thenUnavailableWithoutReason() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        CallCounter attempts = new CallCounter();
        try (KmsClient nowhere = KmsClient.builder().target("127.0.0.1:" + port).plaintext(true)
                .retryPolicy(new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(5)))
                .deadline(Duration.ofSeconds(5)).intercept(attempts).build()) {
            KmsException e = catchThrowableOfType(KmsException.class, () -> nowhere.generateRandom(8));

            assertThat(e.getClass()).isEqualTo(KmsException.class);
            assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.reason()).isNull();
            assertThat(e.requestId()).isNull();
            assertThat(attempts.count("GenerateRandom")).isEqualTo(3);
        }
    }

    @Test
    void keyWhoseMaterialIsGone_isKeyUnavailable_notRetried_andDescribedAsUnavailable() {
        KeyMetadata lost = kms.createKey(CreateKeyRequest.newBuilder().setDescription("material lost").build());
        server.hsm().destroyKey(new HsmKeyRef("hsmkms/" + lost.getKeyId() + "/1"));
        calls.reset();

        KeyUnavailableException e = catchThrowableOfType(KeyUnavailableException.class,
                () -> kms.encrypt(lost.getKeyId(), new byte[] {1}, CONTEXT));

        assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.isRetryable()).isFalse();
        assertThat(calls.count("Encrypt")).as("attempts").isEqualTo(1);
        assertThat(kms.describeKey(lost.getKeyId()).getKeyState()).isEqualTo(KeyState.KEY_STATE_UNAVAILABLE);
    }

    @Test
    void watchEvents_deliversEventsUntilTheConsumerStops_andARefusalIsTyped() throws Exception {
        List<AuditEvent> seen = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> ended = new AtomicReference<>();
        Thread watcher = new Thread(() -> {
            try {
                kms.watchEvents(WatchEventsRequest.newBuilder().addEventNames("UpdateKeyDescription").build(), event -> {
                    seen.add(event);
                    throw new IllegalStateException("enough");
                });
            } catch (Throwable t) {
                ended.set(t);
            }
        });
        watcher.start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (watcher.isAlive() && System.nanoTime() < until) {
            // Until the watch is subscribed on the server, an update is not streamed: keep making them.
            kms.updateKeyDescription(UpdateKeyDescriptionRequest.newBuilder().setKeyId(key.getKeyId())
                    .setDescription("watched").build());
            watcher.join(200);
        }
        assertThat(watcher.isAlive()).isFalse();
        assertThat(ended.get()).isInstanceOf(IllegalStateException.class).hasMessage("enough");
        assertThat(seen).hasSize(1);
        assertThat(seen.getFirst().getEventName()).isEqualTo("UpdateKeyDescription");
        assertThat(seen.getFirst().getKeyArnsList()).containsExactly(key.getArn());

        String token = TOKENS.issue(READER, Duration.ofMinutes(10), false);
        try (KmsClient reader = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true)
                .bearerToken(token).build()) {
            AccessDeniedException denied = catchThrowableOfType(AccessDeniedException.class,
                    () -> reader.watchEvents(WatchEventsRequest.getDefaultInstance(), event -> { }));
            assertThat(denied.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(denied.requestId()).isNotNull();
        }
    }

    @Test
    void watchEvents_returnsWhenItsThreadIsInterrupted_withTheFlagSet() throws Exception {
        AtomicReference<Object> ended = new AtomicReference<>();
        Thread watcher = new Thread(() -> {
            try {
                kms.watchEvents(WatchEventsRequest.newBuilder().addEventNames("NothingHappensHere").build(), event -> { });
                ended.set(Thread.currentThread().isInterrupted() ? "returned, interrupted" : "returned, not interrupted");
            } catch (Throwable t) {
                ended.set(t);
            }
        });
        watcher.start();
        Thread.sleep(500);
        assertThat(watcher.isAlive()).as("a watch blocks while nothing happens").isTrue();

        watcher.interrupt();
        watcher.join(10_000);

        assertThat(watcher.isAlive()).isFalse();
        assertThat(ended.get()).isEqualTo("returned, interrupted");
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }
}
