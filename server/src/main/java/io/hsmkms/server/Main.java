package io.hsmkms.server;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.hsmkms.hsm.pkcs11.SunPkcs11Hsm;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.store.JdbcKeyRepository;
import io.hsmkms.server.store.KeyRepository;
import java.net.InetSocketAddress;
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
        try {
            config = ServerConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("hsmkms-server: " + e.getMessage());
            System.exit(2);
            return;
        }
        KeyNames names = new KeyNames(config.region(), config.accountId());
        KeyRepository repository = JdbcKeyRepository.embedded(config.dataDir());
        SunPkcs11Hsm hsm;
        try {
            hsm = SunPkcs11Hsm.open(config.pkcs11());
        } catch (IllegalStateException | IllegalArgumentException e) {
            repository.close();
            System.err.println("hsmkms-server: " + e.getMessage());
            System.exit(3);
            return;
        }
        KmsServer server = new KmsServer(
                NettyServerBuilder.forAddress(new InetSocketAddress(config.listenAddress(), config.port())),
                hsm, repository, names, config.maxInboundMessageBytes(), Clock.systemUTC());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("shutting down");
            server.close();
            hsm.close();
            repository.close();
        }, "shutdown"));
        LOG.info("hsmkms listening on {}:{} (data dir {}, account {}, region {})",
                config.listenAddress(), server.port(), config.dataDir(), config.accountId(), config.region());
        server.blockUntilShutdown();
    }
}
