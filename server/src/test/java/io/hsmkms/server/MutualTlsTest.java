package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.tools.DevCredentials;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS with the development PKI: certificates map to principals through SPIFFE ids. */
class MutualTlsTest {
    private static final String APP = "arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":role/app";

    @TempDir
    static Path dir;
    private static KmsTestServer server;
    private static DevCredentials.Layout pki;
    private static DevCredentials.Layout otherPki;
    private static final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        pki = DevCredentials.create(dir.resolve("pki"), List.of("admin", "app", "stranger"));
        otherPki = DevCredentials.create(dir.resolve("other-pki"), List.of("admin"));
        IdentityRegistry identities = new IdentityRegistry(List.of(
                new IdentityRegistry.Identity(KmsTestServer.ROOT, DevCredentials.TRUST_DOMAIN + "admin", null, Map.of(),
                        List.of(), null, List.of()),
                new IdentityRegistry.Identity(APP, DevCredentials.TRUST_DOMAIN + "app", null, Map.of("team", "orders"),
                        List.of(), null, List.of())), Map.of());
        SslContextBuilder tls = GrpcSslContexts.forServer(pki.serverCertificate().toFile(), pki.serverKey().toFile())
                .trustManager(pki.caCertificate().toFile()).clientAuth(ClientAuth.OPTIONAL);
        server = KmsTestServer.start(dir.resolve("data"), new KmsServer.Security(identities, null, null),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(tls.build()), null);
    }

    @AfterAll
    static void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        server.close();
    }

    @Test
    void clientCertificate_mapsToItsPrincipal_andIsAuthorizedAsThatPrincipal() throws Exception {
        KeyManagementServiceBlockingStub admin = stub(pki, "admin");
        KeyMetadata key = admin.createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
        ByteString blob = admin.encrypt(EncryptRequest.newBuilder().setKeyId(key.getKeyId())
                .setPlaintext(ByteString.copyFromUtf8("over mTLS")).build()).getCiphertextBlob();

        assertThat(key.getAccountId()).isEqualTo(KmsTestServer.ACCOUNT);
        assertThat(admin.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).build()).getPlaintext().toStringUtf8())
                .isEqualTo("over mTLS");
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException",
                () -> stub(pki, "app").describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()));
    }

    @Test
    void certificateOfTheRightCa_butUnmapped_isUnauthenticated() throws Exception {
        assertFails(Code.UNAUTHENTICATED, "UnauthenticatedException",
                () -> stub(pki, "stranger").listKeys(ListKeysRequest.getDefaultInstance()));
    }

    @Test
    void noClientCertificate_isUnauthenticated() throws Exception {
        ManagedChannel channel = channel(GrpcSslContexts.forClient().trustManager(pki.caCertificate().toFile()));
        assertFails(Code.UNAUTHENTICATED, "UnauthenticatedException", () -> KeyManagementServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).listKeys(ListKeysRequest.getDefaultInstance()));
    }

    @Test
    void clientAddedLaterToTheSamePki_isTrusted() throws Exception {
        DevCredentials.create(pki.dir(), List.of("latecomer"));

        assertFails(Code.UNAUTHENTICATED, "UnauthenticatedException",
                () -> stub(pki, "latecomer").listKeys(ListKeysRequest.getDefaultInstance()));
        assertThat(pki.clientCertificate("app")).exists();
    }

    @Test
    void certificateFromAnotherCa_failsTheHandshake() throws Exception {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub(otherPki, "admin", pki).listKeys(ListKeysRequest.getDefaultInstance()));

        assertThat(e.getStatus().getCode()).isEqualTo(Code.UNAVAILABLE);
    }

    private static KeyManagementServiceBlockingStub stub(DevCredentials.Layout clientPki, String name) throws Exception {
        return stub(clientPki, name, pki);
    }

    private static KeyManagementServiceBlockingStub stub(DevCredentials.Layout clientPki, String name,
                                                         DevCredentials.Layout trust) throws Exception {
        ManagedChannel channel = channel(GrpcSslContexts.forClient().trustManager(trust.caCertificate().toFile())
                .keyManager(clientPki.clientCertificate(name).toFile(), clientPki.clientKey(name).toFile()));
        return KeyManagementServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static ManagedChannel channel(SslContextBuilder tls) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", server.port()).sslContext(tls.build()).build();
        channels.add(channel);
        return channel;
    }
}
