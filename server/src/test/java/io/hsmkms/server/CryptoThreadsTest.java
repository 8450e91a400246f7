package io.hsmkms.server;

import static io.hsmkms.server.AuditReleaseApiTest.createKey;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.server.testing.KmsTestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cryptographic calls run on a fixed number of threads ({@code HSMKMS_CRYPTO_THREADS}); more wait in
 * line instead of reaching the HSM all at once, and the other calls have threads of their own, so a
 * data plane that is busy (or stuck in a slow HSM) does not hold up key management.
 */
class CryptoThreadsTest {
    private static final int THREADS = 2;

    @TempDir
    Path dataDir;

    @Test
    void noMoreCryptoCallsReachTheHsmAtOnceThanThereAreCryptoThreads_andKeyManagementGoesOn() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (KmsTestServer server = KmsTestServer.start(dataDir, KmsServer.Limits.DEFAULT.withCryptoThreads(THREADS))) {
            String keyId = createKey(server);
            AtomicInteger inHsm = new AtomicInteger();
            server.hsm().beforeEncrypt(key -> {
                inHsm.incrementAndGet();
                awaitQuietly(release);
            });
            List<ListenableFuture<EncryptResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                calls.add(KeyManagementServiceGrpc.newFutureStub(server.channel()).withDeadlineAfter(60, TimeUnit.SECONDS)
                        .encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                                .setPlaintext(ByteString.copyFrom("call " + i, StandardCharsets.UTF_8)).build()));
            }
            waitUntil(() -> inHsm.get() >= THREADS);

            // Both crypto threads are held in the HSM; key management has threads of its own.
            String other = server.kms().withDeadlineAfter(10, TimeUnit.SECONDS).createKey(CreateKeyRequest.getDefaultInstance())
                    .getKeyMetadata().getKeyId();
            assertThat(server.kms().withDeadlineAfter(10, TimeUnit.SECONDS)
                    .describeKey(DescribeKeyRequest.newBuilder().setKeyId(other).build()).getKeyMetadata().getKeyId())
                    .isEqualTo(other);
            Thread.sleep(300);
            assertThat(inHsm.get()).as("the other four Encrypts wait for a crypto thread").isEqualTo(THREADS);
            assertThat(calls).noneMatch(java.util.concurrent.Future::isDone);

            release.countDown();
            for (ListenableFuture<EncryptResponse> call : calls) {
                assertThat(call.get(30, TimeUnit.SECONDS).getCiphertextBlob().isEmpty()).isFalse();
            }
            assertThat(inHsm.get()).isEqualTo(6);
        } finally {
            release.countDown();
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
