package io.hsmkms.server;

import static io.hsmkms.server.AuditReleaseApiTest.createKey;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.server.testing.KmsTestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport hands calls to the service on its event-loop threads, one per connection; the service
 * must move a call off that thread before it can wait, or one slow HSM call stalls every call of the
 * client that shares the connection.
 */
class WaitingCallTest {
    @TempDir
    Path dataDir;

    @Test
    void aCallWaitingForTheHsm_holdsUpNoOtherCallOnTheSameConnection() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (KmsTestServer server = KmsTestServer.start(dataDir)) {
            String keyId = createKey(server);
            CountDownLatch waiting = new CountDownLatch(1);
            AtomicBoolean first = new AtomicBoolean(true);
            server.hsm().beforeEncrypt(key -> {
                if (first.compareAndSet(true, false)) {
                    waiting.countDown();
                    awaitQuietly(release);
                }
            });
            ListenableFuture<EncryptResponse> held = KeyManagementServiceGrpc.newFutureStub(server.channel())
                    .withDeadlineAfter(60, TimeUnit.SECONDS).encrypt(request(keyId, "held"));
            assertThat(waiting.await(10, TimeUnit.SECONDS)).as("the first call is in the HSM").isTrue();

            // The same channel: the same connection, so the same event-loop thread as the waiting call.
            for (int i = 0; i < 20; i++) {
                EncryptResponse other = server.kms().withDeadlineAfter(5, TimeUnit.SECONDS).encrypt(request(keyId, "other " + i));
                assertThat(other.getCiphertextBlob().isEmpty()).isFalse();
            }
            assertThat(held.isDone()).as("the first call still waits").isFalse();

            release.countDown();
            assertThat(held.get(30, TimeUnit.SECONDS).getCiphertextBlob().isEmpty()).isFalse();
        } finally {
            release.countDown();
        }
    }

    private static EncryptRequest request(String keyId, String text) {
        return EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFrom(text, StandardCharsets.UTF_8)).build();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
