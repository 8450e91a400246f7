package io.hsmkms.server;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
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
import io.hsmkms.server.store.CachingMetadataStore;
import io.hsmkms.server.store.MetadataStore;
import io.hsmkms.server.core.KeyState;
import io.hsmkms.server.observability.ObservedHsm;
import io.hsmkms.server.observability.RequestMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
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
    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(10);

    /** How often the deletion and rotation jobs look for due keys. */
    private static final Duration JOB_INTERVAL = Duration.ofMinutes(1);
    /** Long enough that a create or rotation in flight is never mistaken for an orphan twice. */
    private static final Duration RECONCILE_INTERVAL = Duration.ofMinutes(10);
    /** Counts past 1/1024 of the rotation bound are written this often; all counts every COUNT_FLUSH_ALL_INTERVAL. */
    private static final Duration COUNT_FLUSH_INTERVAL = Duration.ofSeconds(10);
    /**
     * Writing every count is one row update per key used since the last time: 100,000 keys took 5-13 s of CPU on
     * H2 (measured), which every 5 minutes was a few per cent of the node. What a crash can lose does not depend on
     * it (a count is written within 10 s once it reaches 1/1024 of the bound, and only smaller ones wait).
     */
    private static final Duration COUNT_FLUSH_ALL_INTERVAL = Duration.ofHours(1);
    /**
     * The per-state count reads every key on H2 (an index on state misleads its planner elsewhere: V11): 0.1-0.7 s of
     * CPU with 100,000 keys, and the rows it pulls through H2's page cache end up as old-generation garbage.
     */
    private static final Duration KEY_COUNT_INTERVAL = Duration.ofMinutes(5);
    /** Health-check keys: outside hsmkms/<id>/<n>, so the reconciler never takes them for CMK material. */
    public static final String PROBE_KEY_PREFIX = "hsmkms-health/";

    private final Server server;
    private final ObservedHsm hsm;
    /** Per node, so nodes sharing a token never race to create the same label. */
    private final HsmKeyRef probeKey;
    private final MetadataStore store;
    private final Duration healthInterval;
    private final Map<KeyState, AtomicLong> keysByState = new EnumMap<>(KeyState.class);
    private volatile long lastHealthyNanos = System.nanoTime();
    private final KeyDeletion keyDeletion;
    private final KeyRotation keyRotation;
    private final EncryptionCounter counter;
    private final KeyImports imports;
    private final OrphanReconciler reconciler;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ScheduledExecutorService background = daemonScheduler("kms-background");
    /** Its own thread: a health check that hangs on a dead HSM must not hold up the jobs, nor they it. */
    private final ScheduledExecutorService healthChecks = daemonScheduler("hsm-health");
    /**
     * Where unary calls run, except the cryptographic ones. The transport calls the service on its own event-loop
     * threads and the service hands each call over to a pool once. With gRPC's default executor every event of a
     * call (start, message, half-close, completion) went to a pool thread of its own: four to five thread switches
     * a call, and on the 2-core benchmark machine the switching was about a third of the server's CPU
     * (docs/benchmarks.md). Unbounded, like gRPC's default: a call that waits for the token write lock, a slow HSM
     * or the database holds up no call that needs none of them.
     */
    private final ThreadPoolExecutor handlers = handlerPool();
    /**
     * Where the cryptographic calls run (Encrypt, Decrypt, ReEncrypt, GenerateDataKey..., GenerateRandom): a
     * fixed number of threads, the rest wait in line. They are the calls that come by the thousand, and with a
     * token in the process they are CPU work: run sixteen at once on two cores and they only take turns at the
     * cores and at the token's locks (a fixed pool of two took a quarter off the CPU a call, docs/benchmarks.md).
     * Kept apart from {@link #handlers}, so that key creation waiting for the token write lock does not take
     * the threads of the data plane.
     */
    private final ThreadPoolExecutor cryptoHandlers;

    /**
     * How callers are recognised: the identity registry (principals, certificate mappings, identity
     * policies), the bearer token verifier (null: tokens off) and the insecure development
     * principal for unauthenticated loopback callers (null: off, the default).
     */
    public record Security(IdentityRegistry identities, BearerTokens tokens, String insecureDevPrincipal) {}

    /**
     * @param maxInboundMessageBytes   larger requests are refused by the transport
     * @param maxEncryptionsPerVersion a key whose current version has done this many encryptions is rotated
     * @param healthInterval           how often the HSM is checked; a check that has not finished
     *                                 within three intervals counts as failed
     */
    public record Limits(int maxInboundMessageBytes, long maxEncryptionsPerVersion, Duration healthInterval,
                         int cryptoThreads) {
        public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(5);
        public static final Limits DEFAULT = new Limits(ServerConfig.MAX_INBOUND_MESSAGE_BYTES,
                ServerConfig.DEFAULT_MAX_ENCRYPTIONS_PER_VERSION);

        public Limits {
            if (cryptoThreads < 1) {
                throw new IllegalArgumentException("cryptoThreads must be at least 1");
            }
        }

        public Limits(int maxInboundMessageBytes, long maxEncryptionsPerVersion) {
            this(maxInboundMessageBytes, maxEncryptionsPerVersion, DEFAULT_HEALTH_INTERVAL);
        }

        public Limits(int maxInboundMessageBytes, long maxEncryptionsPerVersion, Duration healthInterval) {
            this(maxInboundMessageBytes, maxEncryptionsPerVersion, healthInterval, ServerConfig.defaultCryptoThreads());
        }

        public Limits withCryptoThreads(int threads) {
            return new Limits(maxInboundMessageBytes, maxEncryptionsPerVersion, healthInterval, threads);
        }
    }

    /**
     * @param audit where every call and lifecycle event is recorded; the caller closes it after
     *              this server, so calls still running get their records
     */
    public KmsServer(ServerBuilder<?> builder, Hsm rawHsm, MetadataStore store, AuditTrail audit, MeterRegistry meters,
                     KeyNames names, String nodeId, Security security, Limits limits, Clock clock) {
        this.hsm = new ObservedHsm(rawHsm, meters);
        this.cryptoHandlers = cryptoPool(limits.cryptoThreads());
        this.probeKey = new HsmKeyRef(PROBE_KEY_PREFIX + nodeId);
        this.store = store;
        this.healthInterval = limits.healthInterval();
        ObservedHsm hsm = this.hsm;
        for (KeyState state : KeyState.values()) {
            AtomicLong count = new AtomicLong();
            keysByState.put(state, count);
            meters.gauge("hsmkms.keys", Tags.of("state", state.name()), count);
        }
        meters.gauge("hsmkms.hsm.serving", hsm, h -> h.serving() ? 1 : 0);
        if (store instanceof CachingMetadataStore cache) {
            FunctionCounter.builder("hsmkms.metadata.key.reads", cache, CachingMetadataStore::hits).tag("result", "cached")
                    .description("Key reads answered from this node's metadata cache").register(meters);
            FunctionCounter.builder("hsmkms.metadata.key.reads", cache, CachingMetadataStore::misses).tag("result", "loaded")
                    .description("Key reads that loaded the key from the database").register(meters);
        }
        KeyEvents events = new TrailKeyEvents(audit, names, clock);
        AccessControl access = new AccessControl(security.identities(), new KeyPolicies(), store, names, clock);
        KeyOperations keys = new KeyOperations(hsm, store, store, names, access, clock);
        this.counter = new EncryptionCounter(store, limits.maxEncryptionsPerVersion());
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
                .directExecutor()
                .maxInboundMessageSize(limits.maxInboundMessageBytes())
                .addService(KmsServices.keyManagement(keys, crypto, grants, aliases, imports, availability, names, authenticator, audit,
                        new RequestMetrics(meters), clock, cryptoHandlers, handlers))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
    }

    public KmsServer start() throws IOException {
        try {
            hsm.generateAesKey(probeKey.label());
        } catch (HsmException e) {
            if (e.reason() != HsmException.Reason.ALREADY_EXISTS) {
                LOG.warn("could not create the HSM health-check key: {}", e.reason());
            }
        }
        server.start();
        checkHealth();
        healthChecks.scheduleWithFixedDelay(this::checkHealth,
                healthInterval.toMillis(), healthInterval.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::healthWatchdog,
                healthInterval.toMillis(), healthInterval.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::refreshKeyCounts, 0, KEY_COUNT_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::deleteDueKeys, 0, JOB_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::rotateDueKeys, 0, JOB_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::reconcile, 0, RECONCILE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(() -> flushCounts(false), COUNT_FLUSH_INTERVAL.toMillis(),
                COUNT_FLUSH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(() -> flushCounts(true), COUNT_FLUSH_ALL_INTERVAL.toMillis(),
                COUNT_FLUSH_ALL_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
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

    private void flushCounts(boolean all) {
        try {
            if (all) {
                counter.flushAll();
            } else {
                counter.flush();
            }
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
        healthChecks.shutdownNow();
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
        handlers.shutdown();
        cryptoHandlers.shutdown();
        flushCounts(true);
    }

    private void checkHealth() {
        boolean ok;
        try {
            hsm.probe(probeKey);
            ok = true;
            lastHealthyNanos = System.nanoTime();
        } catch (HsmException e) {
            LOG.warn("HSM health check failed: {}", e.reason());
            ok = false;
        } catch (RuntimeException e) {
            LOG.warn("HSM health check failed: {}", e.getClass().getSimpleName());
            ok = false;
        }
        serving(ok);
    }

    /** A check still hanging after three intervals means the HSM is not answering: stop sending it work. */
    private void healthWatchdog() {
        if (System.nanoTime() - lastHealthyNanos > 3 * healthInterval.toNanos() && hsm.serving()) {
            LOG.warn("HSM health check has not succeeded for {} ms: NOT_SERVING", 3 * healthInterval.toMillis());
            serving(false);
        }
    }

    private void serving(boolean ok) {
        if (ok != hsm.serving()) {
            LOG.info("HSM is {}", ok ? "serving again" : "NOT serving: calls that need it fail fast");
        }
        hsm.serving(ok);
        ServingStatus status = ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus("", status);
        health.setStatus(KeyManagementServiceGrpc.SERVICE_NAME, status);
    }

    /** Updates the keys-by-state gauges (also every 5 minutes). */
    public void refreshKeyCounts() {
        try {
            Map<KeyState, Long> counts = store.countByState();
            keysByState.forEach((state, gauge) -> gauge.set(counts.getOrDefault(state, 0L)));
        } catch (RuntimeException e) {
            LOG.warn("counting keys by state failed: {}", e.getClass().getSimpleName());
        }
    }

    private static ThreadPoolExecutor handlerPool() {
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                numberedDaemons("kms-handler-"));
    }

    private static ThreadPoolExecutor cryptoPool(int threads) {
        // Unbounded queue, as the other pool has unbounded threads: how many calls may wait is the transport's to limit.
        // Not a LinkedTransferQueue: its waiting threads spin before they park, which cost 6-9 % more CPU a call at
        // 16 in flight and gained nothing this machine could see at 1 (docs/benchmarks.md).
        return new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                numberedDaemons("kms-crypto-"));
    }

    private static java.util.concurrent.ThreadFactory numberedDaemons(String prefix) {
        AtomicInteger number = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + number.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private static ScheduledExecutorService daemonScheduler(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }
}
