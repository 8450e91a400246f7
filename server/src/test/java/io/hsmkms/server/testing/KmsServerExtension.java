package io.hsmkms.server.testing;

import io.grpc.ManagedChannel;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.server.KmsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One real {@link KmsTestServer} per test class, on a temp data directory:
 * {@code @RegisterExtension static final KmsServerExtension server = new KmsServerExtension();}
 */
public final class KmsServerExtension implements BeforeAllCallback, AfterAllCallback {
    private final Function<Path, KmsTestServer> starter;
    private Path dataDir;
    private KmsTestServer server;

    /** Insecure dev mode as the account root, default limits. */
    public KmsServerExtension() {
        this(KmsTestServer::start);
    }

    /** Default security with other limits. */
    public KmsServerExtension(KmsServer.Limits limits) {
        this(dir -> KmsTestServer.start(dir, limits));
    }

    public KmsServerExtension(Function<Path, KmsTestServer> starter) {
        this.starter = starter;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        dataDir = Files.createTempDirectory("hsmkms-test");
        server = starter.apply(dataDir);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (server != null) {
            server.close();
        }
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fixture itself, for what the shortcuts here do not cover (metrics port, audit trail, data dir). */
    public KmsTestServer testServer() {
        return server;
    }

    public KeyManagementServiceBlockingStub kms() {
        return server.kms();
    }

    public CountingHsm hsm() {
        return server.hsm();
    }

    public SoftHsmToken token() {
        return server.token();
    }

    public OffsetClock clock() {
        return server.clock();
    }

    public KmsServer server() {
        return server.server();
    }

    public ManagedChannel channel() {
        return server.channel();
    }
}
