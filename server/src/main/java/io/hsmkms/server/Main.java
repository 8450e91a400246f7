package io.hsmkms.server;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.hsmkms.hsm.pkcs11.SunPkcs11Hsm;
import io.hsmkms.server.audit.HashChainedFileTrail;
import io.hsmkms.server.observability.MetricsEndpoint;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.store.CachingMetadataStore;
import io.hsmkms.server.store.StoreException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/** Starts the service from environment settings (see {@link ServerConfig}) and runs until stopped. */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {}

    public static void main(String[] args) throws Exception {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        if (args.length > 0) {
            System.err.println("hsmkms-server takes no arguments; configure it with HSMKMS_* environment variables"
                    + " or a properties file named by " + ServerConfig.CONFIG_FILE + " (see README.md).");
            System.exit(2);
        }
        ServerConfig config;
        KmsServer.Security security;
        NettyServerBuilder transport;
        try {
            config = ServerConfig.fromEnvironment(System.getenv());
            security = security(config);
            transport = transport(config);
        } catch (IllegalArgumentException e) {
            System.err.println("hsmkms-server: " + e.getMessage());
            System.exit(2);
            return;
        }
        CachingMetadataStore repository;
        try {
            repository = config.embeddedDatabase()
                    ? CachingMetadataStore.embedded(config.dataDir()) : CachingMetadataStore.postgres(config.database());
        } catch (StoreException | IllegalArgumentException e) {
            // Says which store and why (the driver's reason: host unreachable, authentication failed),
            // never the password.
            System.err.println("hsmkms-server: cannot open the metadata store: " + e.getMessage()
                    + (e.getCause() != null ? " (" + e.getCause().getMessage() + ")" : ""));
            System.exit(3);
            return;
        }
        SunPkcs11Hsm hsm;
        try {
            hsm = SunPkcs11Hsm.open(config.pkcs11(), repository.tokenWriteLock());
        } catch (IllegalStateException | IllegalArgumentException e) {
            repository.close();
            System.err.println("hsmkms-server: " + e.getMessage());
            System.exit(3);
            return;
        }
        HashChainedFileTrail audit;
        String nodeId;
        try {
            nodeId = config.nodeId() != null ? config.nodeId() : persistentNodeId(config.dataDir());
            audit = HashChainedFileTrail.open(config.audit(), hsm.signer(HashChainedFileTrail.signingKeyLabel(nodeId)),
                    Clock.systemUTC());
        } catch (RuntimeException | IOException e) {
            hsm.close();
            repository.close();
            System.err.println("hsmkms-server: cannot open the audit trail in " + config.audit().dir() + ": "
                    + e.getClass().getSimpleName());
            System.exit(3);
            return;
        }
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(meters);
        new ProcessorMetrics().bindTo(meters);
        MetricsEndpoint metrics = config.metricsAddress() == null ? null
                : MetricsEndpoint.start(config.metricsAddress(), meters);
        KmsServer server = new KmsServer(transport, hsm, repository, audit, meters, new KeyNames(config.region()), nodeId,
                security, new KmsServer.Limits(config.maxInboundMessageBytes(), config.maxEncryptionsPerVersion(),
                        KmsServer.Limits.DEFAULT_HEALTH_INTERVAL, config.cryptoThreads()),
                Clock.systemUTC());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("shutting down");
            server.close();
            if (metrics != null) {
                metrics.close();
            }
            audit.close();
            hsm.close();
            repository.close();
        }, "shutdown"));
        LOG.info("hsmkms listening on {}:{} (tls={}, mtls={}, tokens={}, data dir {}, metadata {}, region {}, node {}, "
                        + "audit {} {}, metrics {}, token writes {})",
                config.listenAddress(), server.port(), config.tls() != null,
                config.tls() != null && config.tls().clientCa() != null, security.tokens() != null,
                config.dataDir(), config.embeddedDatabase() ? "embedded" : "postgresql", config.region(), nodeId,
                config.audit().dir(), config.audit().durability(),
                metrics == null ? "off" : config.metricsAddress().getHostString() + ":" + metrics.port() + "/metrics",
                repository.tokenWriteLock() == io.hsmkms.hsm.TokenWriteLock.NONE ? "unlocked (one process)"
                        : "locked with the other nodes");
        server.blockUntilShutdown();
    }

    /** A random node id made on first start and kept in the data directory, so restarts keep their HSM keys. */
    private static String persistentNodeId(java.nio.file.Path dataDir) throws IOException {
        java.nio.file.Path file = dataDir.resolve("node-id");
        if (Files.exists(file)) {
            return Files.readString(file).trim();
        }
        byte[] random = new byte[6];
        new java.security.SecureRandom().nextBytes(random);
        String id = "node-" + java.util.HexFormat.of().formatHex(random);
        Files.createDirectories(dataDir);
        Files.writeString(file, id + "\n");
        return id;
    }

    private static KmsServer.Security security(ServerConfig config) throws IOException {
        IdentityRegistry identities = config.identitiesFile() == null
                ? IdentityRegistry.empty() : IdentityRegistry.load(config.identitiesFile());
        BearerTokens tokens = null;
        if (config.tokenKeyFile() != null) {
            tokens = new BearerTokens(Files.readAllBytes(config.tokenKeyFile()), Clock.systemUTC());
        }
        if (config.insecureDevPrincipal() != null) {
            LOG.warn("INSECURE DEVELOPMENT MODE: unauthenticated callers on loopback act as {}. Never use this in "
                    + "production; unset {} to turn it off.", config.insecureDevPrincipal(), ServerConfig.INSECURE_DEV_PRINCIPAL);
        }
        boolean anyCredential = tokens != null || (config.tls() != null && config.tls().clientCa() != null)
                || config.insecureDevPrincipal() != null;
        if (!anyCredential) {
            LOG.warn("no way to authenticate is configured (client CA, token key or insecure dev principal): "
                    + "every call will be refused as UNAUTHENTICATED");
        }
        if (config.tls() == null && tokens != null) {
            LOG.warn("bearer tokens are accepted over plaintext; configure TLS unless this is loopback-only development");
        }
        return new KmsServer.Security(identities, tokens, config.insecureDevPrincipal());
    }

    private static NettyServerBuilder transport(ServerConfig config) throws IOException {
        NettyServerBuilder builder =
                NettyServerBuilder.forAddress(new InetSocketAddress(config.listenAddress(), config.port()));
        ServerConfig.Tls tls = config.tls();
        if (tls != null) {
            SslContextBuilder ssl = GrpcSslContexts.forServer(tls.certificateChain().toFile(), tls.privateKey().toFile());
            if (tls.clientCa() != null) {
                // OPTIONAL, not REQUIRE: callers with a bearer token need no certificate. A certificate
                // that is presented must still chain to the CA.
                ssl.trustManager(tls.clientCa().toFile()).clientAuth(ClientAuth.OPTIONAL);
            }
            builder.sslContext(ssl.build());
        }
        return builder;
    }
}
