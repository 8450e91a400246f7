package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.testing.KmsTestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.images.builder.Transferable;

/**
 * Builds docker/Dockerfile and runs one encrypt/decrypt round trip against the container, over a bearer token (the
 * container's callers are not on its loopback). Needs a Docker engine; without one the test is skipped and says so.
 * Takes minutes where it runs: the image build runs Maven inside Docker.
 */
class DockerImageTest {
    private static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();
    private static final String NO_DOCKER = "SKIPPED: no Docker engine is reachable, so docker/Dockerfile is not built or run";
    private static GenericContainer<?> node;
    private static BearerTokens tokens;

    @BeforeAll
    static void buildAndStart() {
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            docker = false;
        }
        if (!docker) {
            // Skipped in the test itself, so that the report counts a skipped test with this reason.
            System.out.println("DockerImageTest: " + NO_DOCKER);
            return;
        }
        byte[] tokenKey = new byte[32];
        new SecureRandom().nextBytes(tokenKey);
        tokens = new BearerTokens(tokenKey, Clock.systemUTC());
        String identities = "{\"identities\":[{\"arn\":\"" + KmsTestServer.ROOT + "\"}]}";
        node = new GenericContainer<>(new ImageFromDockerfile("hsmkms-image-test", true)
                .withFileFromPath(".", REPOSITORY)
                .withDockerfile(REPOSITORY.resolve("docker").resolve("Dockerfile")))
                .withExposedPorts(7700)
                .withCopyToContainer(Transferable.of(tokenKey, 0644), "/etc/hsmkms/token.key")
                .withCopyToContainer(Transferable.of(identities.getBytes(StandardCharsets.UTF_8), 0644),
                        "/etc/hsmkms/identities.json")
                .withEnv(ServerConfig.TOKEN_KEY_FILE, "/etc/hsmkms/token.key")
                .withEnv(ServerConfig.IDENTITIES_FILE, "/etc/hsmkms/identities.json")
                // The image's own HEALTHCHECK (gRPC health through HealthCheck) says when it is ready.
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
        node.start();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.stop();
        }
    }

    @Test
    void image_servesAnEncryptDecryptRoundTrip_withItsTokenMadeOnFirstStart() {
        Assumptions.assumeTrue(node != null, NO_DOCKER);
        ManagedChannel channel = NettyChannelBuilder.forAddress(node.getHost(), node.getMappedPort(7700)).usePlaintext().build();
        try {
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
                    "Bearer " + tokens.issue(KmsTestServer.ROOT, Duration.ofMinutes(10), false));
            KeyManagementServiceBlockingStub kms = KeyManagementServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(60, TimeUnit.SECONDS);

            String keyId = kms.createKey(CreateKeyRequest.newBuilder().setDescription("in a container").build())
                    .getKeyMetadata().getKeyId();
            ByteString blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                    .setPlaintext(ByteString.copyFromUtf8("sealed in the image's SoftHSM")).build()).getCiphertextBlob();

            assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()).getPlaintext().toStringUtf8())
                    .isEqualTo("sealed in the image's SoftHSM");
            assertThat(node.getLogs()).contains("SoftHSM token 'hsmkms' initialised").doesNotContain("Exception");
        } finally {
            channel.shutdownNow();
        }
    }
}
