package io.hsmkms.server.testing;

import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.server.auth.BearerTokens;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Stubs that call a test server as a given principal, with a bearer token signed by a fresh key. */
public final class TokenClients {
    private final BearerTokens tokens;
    private KmsTestServer server;

    public TokenClients() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        this.tokens = new BearerTokens(key, Clock.systemUTC());
    }

    public BearerTokens tokens() {
        return tokens;
    }

    public void connect(KmsTestServer target) {
        this.server = target;
    }

    public KeyManagementServiceBlockingStub as(String principal) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
                "Bearer " + tokens.issue(principal, Duration.ofHours(1), false));
        return KeyManagementServiceGrpc.newBlockingStub(server.channel())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }
}
