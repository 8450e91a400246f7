package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.server.testing.KmsServerExtension;
import io.hsmkms.server.testing.KmsTestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The token disappears under a running server (its directory moved away: SoftHSM cannot recover
 * from that in-process, see HSM-FACTS.md). Health must turn NOT_SERVING and calls must fail fast
 * with a typed, retryable error instead of hanging. Runs in its own JVM like every test class.
 */
class HsmOutageTest {
    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(200);

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension(dir -> KmsTestServer.start(dir,
            new KmsServer.Limits(64 * 1024, 1L << 30, HEALTH_INTERVAL)));

    @Test
    void tokenGone_healthGoesNotServing_andCallsFailFastAsUnavailable() throws Exception {
        String keyId = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        EncryptRequest encrypt = EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFromUtf8("x")).build();
        server.kms().encrypt(encrypt);
        assertThat(health()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        Path tokenDir = server.token().directory();
        Path unplugged = tokenDir.resolveSibling(tokenDir.getFileName() + ".unplugged");
        Files.move(tokenDir, unplugged);
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (health() != HealthCheckResponse.ServingStatus.NOT_SERVING && System.nanoTime() < deadline) {
                Thread.sleep(HEALTH_INTERVAL.toMillis());
            }
            assertThat(health()).isEqualTo(HealthCheckResponse.ServingStatus.NOT_SERVING);

            long started = System.nanoTime();
            assertFails(Status.Code.UNAVAILABLE, "KMSInternalException", () -> server.kms().encrypt(encrypt));
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("failed fast, not after a timeout")
                    .isLessThan(Duration.ofSeconds(2));
            String metrics = scrape();
            assertThat(metrics).contains("hsmkms_hsm_serving 0.0");
            assertThat(metrics).as("refused before reaching the HSM")
                    .containsPattern("hsmkms_hsm_errors_total\\{operation=\"[a-z_]+\",reason=\"NOT_SERVING\"\\} [1-9]");
        } finally {
            Files.move(unplugged, tokenDir);
        }
    }

    private static HealthCheckResponse.ServingStatus health() {
        return HealthGrpc.newBlockingStub(server.channel()).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    }

    private static String scrape() throws Exception {
        var client = java.net.http.HttpClient.newHttpClient();
        return client.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + server.testServer().metricsPort() + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }
}
