package io.hsmkms.server;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.server.auth.Authenticator;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.core.AccessControl;
import io.hsmkms.server.core.Aliases;
import io.hsmkms.server.core.CryptoOperations;
import io.hsmkms.server.core.EncryptionCounter;
import io.hsmkms.server.core.Grants;
import io.hsmkms.server.audit.AuditTrail;
import io.hsmkms.server.audit.TrailKeyEvents;
import io.hsmkms.server.core.KeyAvailability;
import io.hsmkms.server.core.KeyEvents;
import io.hsmkms.server.core.KeyDeletion;
import io.hsmkms.server.core.KeyImports;
import io.hsmkms.server.core.KeyRotation;
import io.hsmkms.server.core.OrphanReconciler;
import io.hsmkms.server.core.KeyPolicies;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.core.KeyOperations;
import io.hsmkms.server.grpc.KmsServices;
import io.hsmkms.server.store.MetadataStore;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KMS gRPC server over a given HSM and metadata store. Transport (Netty on a port, in-process)
 * is the caller's choice through the {@link ServerBuilder}. Also serves the standard health
 * service, which follows a periodic real HSM operation, and server reflection.
 */
public final class KmsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KmsServer.class);
    private static final Duration HEALTH_INTERVAL = Duration.ofSeconds(5);
    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(10);

    /** How often the deletion and rotation jobs look for due keys. */
    private static final Duration JOB_INTERVAL = Duration.ofMinutes(1);
    /** Long enough that a create or rotation in flight is never mistaken for an orphan twice. */
    private static final Duration RECONCILE_INTERVAL = Duration.ofMinutes(10);
    private static final Duration COUNT_FLUSH_INTERVAL = Duration.ofSeconds(10);

    private final Server server;
    private final Hsm hsm;
    private final KeyDeletion keyDeletion;
    private final KeyRotation keyRotation;
    private final EncryptionCounter counter;
    private final KeyImports imports;
    private final OrphanReconciler reconciler;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kms-background");
        t.setDaemon(true);
        return t;
    });

    /**
     * How callers are recognised: the identity registry (principals, certificate mappings, identity
     * policies), the bearer token verifier (null: tokens off) and the insecure development
     * principal for unauthenticated loopback callers (null: off, the default).
     */
    public record Security(IdentityRegistry identities, BearerTokens tokens, String insecureDevPrincipal) {}

    /**
     * @param maxInboundMessageBytes   larger requests are refused by the transport
     * @param maxEncryptionsPerVersion a key whose current version has done this many encryptions is rotated
     */
    public record Limits(int maxInboundMessageBytes, long maxEncryptionsPerVersion) {
        public static final Limits DEFAULT = new Limits(ServerConfig.MAX_INBOUND_MESSAGE_BYTES,
                ServerConfig.DEFAULT_MAX_ENCRYPTIONS_PER_VERSION);
    }

    /**
     * @param audit where every call and lifecycle event is recorded; the caller closes it after
     *              this server, so calls still running get their records
     */
    public KmsServer(ServerBuilder<?> builder, Hsm hsm, MetadataStore store, AuditTrail audit, KeyNames names,
                     Security security, Limits limits, Clock clock) {
        this.hsm = hsm;
        KeyEvents events = new TrailKeyEvents(audit, names, clock);
        AccessControl access = new AccessControl(security.identities(), new KeyPolicies(), store, names, clock);
        KeyOperations keys = new KeyOperations(hsm, store, store, names, access, clock);
        this.counter = new EncryptionCounter(store);
        KeyAvailability availability = new KeyAvailability();
        CryptoOperations crypto = new CryptoOperations(hsm, keys, names, access, counter, availability, events);
        Grants grants = new Grants(store, keys, names, access, clock);
        Aliases aliases = new Aliases(store, keys, names, access, clock);
        this.imports = new KeyImports(hsm, store, keys, names, access, clock, events);
        this.keyDeletion = new KeyDeletion(hsm, store, clock, events);
        this.keyRotation = new KeyRotation(keys, store, counter, limits.maxEncryptionsPerVersion(), clock, events);
        this.reconciler = new OrphanReconciler(hsm, store, availability);
        Authenticator authenticator = new Authenticator(security.identities(), security.tokens(),
                security.insecureDevPrincipal());
        this.server = builder
                .maxInboundMessageSize(limits.maxInboundMessageBytes())
                .addService(KmsServices.keyManagement(keys, crypto, grants, aliases, imports, availability, names, authenticator, audit,
                        clock))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
    }

    public KmsServer start() throws IOException {
        server.start();
        checkHealth();
        background.scheduleWithFixedDelay(this::checkHealth,
                HEALTH_INTERVAL.toMillis(), HEALTH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::deleteDueKeys, 0, JOB_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::rotateDueKeys, 0, JOB_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::reconcile, 0, RECONCILE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::flushCounts, COUNT_FLUSH_INTERVAL.toMillis(),
                COUNT_FLUSH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Finds HSM objects no metadata names (reported the first time, destroyed when still orphaned
     * on the next run) and metadata naming missing objects; runs at start and every 10 minutes.
     */
    public OrphanReconciler.Report reconcile() {
        try {
            return reconciler.run();
        } catch (RuntimeException e) {
            LOG.warn("reconciliation run failed: {}", e.getClass().getSimpleName());
            return new OrphanReconciler.Report(java.util.List.of(), java.util.List.of(), java.util.List.of());
        }
    }

    private void flushCounts() {
        try {
            counter.flush();
        } catch (RuntimeException e) {
            LOG.warn("flushing encryption counts failed: {}", e.getClass().getSimpleName());
        }
    }

    /** Rotates the keys whose automatic rotation date has come (also run every minute); returns how many. */
    public synchronized int rotateDueKeys() {
        try {
            return keyRotation.runOnce();
        } catch (RuntimeException e) {
            LOG.warn("key rotation run failed: {}", e.getClass().getSimpleName());
            return 0;
        }
    }

    /**
     * Destroys the keys whose deletion window has ended and imported material whose ValidTo has
     * passed (also run every minute); returns how many keys were affected.
     */
    public synchronized int deleteDueKeys() {
        try {
            return keyDeletion.runOnce() + imports.expire();
        } catch (RuntimeException e) {
            // The next run retries; a scheduled task that throws would never run again.
            LOG.warn("key deletion run failed: {}", e.getClass().getSimpleName());
            return 0;
        }
    }

    /** The bound port (useful when started on port 0). */
    public int port() {
        return server.getPort();
    }

    public void blockUntilShutdown() throws InterruptedException {
        server.awaitTermination();
    }

    /** Stops taking calls, lets running calls finish for a grace period, then cuts the rest. */
    @Override
    public void close() {
        background.shutdownNow();
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                server.shutdownNow().awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        flushCounts();
    }

    private void checkHealth() {
        ServingStatus status;
        try {
            hsm.checkHealth();
            status = ServingStatus.SERVING;
        } catch (HsmException e) {
            LOG.warn("HSM health check failed: {}", e.reason());
            status = ServingStatus.NOT_SERVING;
        }
        health.setStatus("", status);
        health.setStatus(KeyManagementServiceGrpc.SERVICE_NAME, status);
    }
}
