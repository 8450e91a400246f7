package io.hsmkms.server.testing;

import io.hsmkms.server.audit.HashChainedFileTrail;
import io.hsmkms.server.observability.MetricsEndpoint;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.hsmkms.hsm.pkcs11.SunPkcs11Hsm;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.server.KmsServer;
import io.hsmkms.server.ServerConfig;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.store.CachingMetadataStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real server for integration tests: a fresh SoftHSM2 token, an embedded store in a temp dir,
 * Netty on a loopback port and a plaintext channel to it.
 */
public final class KmsTestServer implements AutoCloseable {
    public static final String ACCOUNT = "111122223333";
    /** The account's root principal: what tests that are not about access control act as. */
    public static final String ROOT = "arn:hsmkms:iam::" + ACCOUNT + ":root";
    public static final String REGION = "test-1";
    public static final String NODE_ID = "test-node";

    private final SoftHsmToken token;
    private final Path dataDir;
    private final CountingHsm hsm;
    private final OffsetClock clock = new OffsetClock();
    private final CachingMetadataStore repository;
    private final HashChainedFileTrail audit;
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final MetricsEndpoint metrics;
    private final KmsServer server;
    private final ManagedChannel channel;

    private KmsTestServer(SoftHsmToken token, Path dataDir, KmsServer.Security security, NettyServerBuilder transport,
                          NettyChannelBuilder client, KmsServer.Limits limits) throws IOException {
        this.token = token;
        this.dataDir = dataDir;
        this.hsm = new CountingHsm(SunPkcs11Hsm.open(token.config()));
        this.repository = CachingMetadataStore.embedded(dataDir);
        this.audit = HashChainedFileTrail.open(HashChainedFileTrail.Settings.defaults(auditDir(dataDir)),
                hsm.signer(HashChainedFileTrail.signingKeyLabel(NODE_ID)), clock);
        this.metrics = MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", 0), meters);
        this.server = new KmsServer(transport, hsm, repository, audit, meters, new KeyNames(REGION), NODE_ID, security,
                limits, clock).start();
        this.channel = client == null
                ? NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build()
                : client.build();
    }

    /** A plaintext loopback server whose unauthenticated callers act as the account root (insecure dev mode). */
    public static KmsTestServer start(Path dataDir) {
        return start(dataDir, KmsServer.Limits.DEFAULT);
    }

    /** The same, with other limits (e.g. a tiny encryption bound to see usage-based rotation). */
    public static KmsTestServer start(Path dataDir, KmsServer.Limits limits) {
        return start(dataDir, new KmsServer.Security(IdentityRegistry.empty(), null, ROOT),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), null, limits);
    }

    /**
     * A server with the given security on the given transport.
     *
     * @param client a channel builder for the default channel, or null for plaintext to the bound port
     */
    public static KmsTestServer start(Path dataDir, KmsServer.Security security, NettyServerBuilder transport,
                                      NettyChannelBuilder client) {
        return start(dataDir, security, transport, client, KmsServer.Limits.DEFAULT);
    }

    private static KmsTestServer start(Path dataDir, KmsServer.Security security, NettyServerBuilder transport,
                                       NettyChannelBuilder client, KmsServer.Limits limits) {
        SoftHsmToken token = SoftHsmToken.create();
        try {
            return new KmsTestServer(token, dataDir, security, transport, client, limits);
        } catch (IOException | RuntimeException e) {
            token.close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /** The server's clock: advance it to make time pass (deletion windows, MFA ages). */
    public OffsetClock clock() {
        return clock;
    }

    public KmsServer server() {
        return server;
    }

    public int port() {
        return server.port();
    }

    public KeyManagementServiceGrpc.KeyManagementServiceBlockingStub kms() {
        return KeyManagementServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    public ManagedChannel channel() {
        return channel;
    }

    public CountingHsm hsm() {
        return hsm;
    }

    public SoftHsmToken token() {
        return token;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The audit trail's directory. */
    public static Path auditDir(Path dataDir) {
        return dataDir.resolve("audit");
    }

    public HashChainedFileTrail audit() {
        return audit;
    }

    /** Where GET /metrics answers (Prometheus text format). */
    public int metricsPort() {
        return metrics.port();
    }

    /** The ErrorInfo reason of a failed call, e.g. "NotFoundException". */
    public static String reason(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status == null) {
            return null;
        }
        for (com.google.protobuf.Any detail : status.getDetailsList()) {
            if (detail.is(ErrorInfo.class)) {
                try {
                    return detail.unpack(ErrorInfo.class).getReason();
                } catch (InvalidProtocolBufferException ex) {
                    throw new AssertionError(ex);
                }
            }
        }
        return null;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        server.close();
        metrics.close();
        audit.close();
        hsm.close();
        repository.close();
        token.close();
    }
}
