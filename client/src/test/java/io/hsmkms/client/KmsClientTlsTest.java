package io.hsmkms.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.hsmkms.client.errors.KmsException;
import io.hsmkms.client.errors.UnauthenticatedException;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.server.KmsServer;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.tools.DevCredentials;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder's TLS and mutual TLS paths against a real server that requires them. */
class KmsClientTlsTest {
    @TempDir
    static Path dir;
    private static KmsTestServer server;
    private static DevCredentials.Layout pki;

    @BeforeAll
    static void start() throws Exception {
        pki = DevCredentials.create(dir.resolve("pki"), List.of("admin"));
        IdentityRegistry identities = new IdentityRegistry(List.of(new IdentityRegistry.Identity(KmsTestServer.ROOT,
                DevCredentials.TRUST_DOMAIN + "admin", null, Map.of(), List.of(), null, List.of())), Map.of());
        server = KmsTestServer.start(dir.resolve("data"), new KmsServer.Security(identities, null, null),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(GrpcSslContexts
                        .forServer(pki.serverCertificate().toFile(), pki.serverKey().toFile())
                        .trustManager(pki.caCertificate().toFile()).clientAuth(ClientAuth.OPTIONAL).build()), null);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static KmsClient.Builder tls() {
        return KmsClient.builder().target("127.0.0.1:" + server.port()).trustCa(pki.caCertificate())
                .retryPolicy(RetryPolicy.NONE).deadline(Duration.ofSeconds(20));
    }

    @Test
    void mutualTls_authenticatesAsTheCertificatesPrincipal() {
        try (KmsClient admin = tls().clientCertificate(pki.clientCertificate("admin"), pki.clientKey("admin")).build()) {
            assertThat(admin.createKey(CreateKeyRequest.getDefaultInstance()).getAccountId())
                    .isEqualTo(KmsTestServer.ACCOUNT);
        }
    }

    @Test
    void tlsWithoutClientCertificate_isUnauthenticated() {
        try (KmsClient anonymous = tls().build()) {
            catchThrowableOfType(UnauthenticatedException.class, () -> anonymous.generateRandom(4));
        }
    }

    @Test
    void plaintextAgainstATlsServer_failsAsUnavailable_andPlaintextWithTlsFilesIsRefused() {
        try (KmsClient plain = KmsClient.builder().target("127.0.0.1:" + server.port()).plaintext(true)
                .retryPolicy(RetryPolicy.NONE).deadline(Duration.ofSeconds(10)).build()) {
            KmsException e = catchThrowableOfType(KmsException.class, () -> plain.generateRandom(4));
            assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
        }
        assertThatThrownBy(() -> tls().plaintext(true).build()).isInstanceOf(IllegalArgumentException.class);
    }
}
