package io.hsmkms.server.observability;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The HSM as the service uses it: every operation timed and its failures counted by reason, the
 * calls in flight gauged, and, while the periodic health check says the HSM is down, every call
 * refused at once with {@link HsmException.Reason#DEVICE} instead of queueing behind a dead token.
 * Health checks themselves always go through, which is how recovery is noticed.
 */
public final class ObservedHsm implements Hsm {
    private static final byte[] PROBE_BLOCK = new byte[16];

    private final Hsm delegate;
    private final MeterRegistry registry;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final java.util.concurrent.ConcurrentMap<String, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean serving = true;

    public ObservedHsm(Hsm delegate, MeterRegistry registry) {
        this.delegate = delegate;
        this.registry = registry;
        registry.gauge("hsmkms.hsm.in.flight", inFlight);
    }

    /** What the last health check found; false makes every call fail fast. */
    public void serving(boolean serving) {
        this.serving = serving;
    }

    public boolean serving() {
        return serving;
    }

    @Override
    public HsmKeyRef generateAesKey(String label) {
        return call("generate_key", () -> delegate.generateAesKey(label));
    }

    @Override
    public HsmKeyRef importAesKey(String label, byte[] material) {
        return call("import_key", () -> delegate.importAesKey(label, material));
    }

    @Override
    public byte[] keyCheckValue(HsmKeyRef key) {
        return call("key_check_value", () -> delegate.keyCheckValue(key));
    }

    @Override
    public RsaUnwrapper generateRsaUnwrapper(int bits) {
        RsaUnwrapper unwrapper = call("generate_wrapping_key", () -> delegate.generateRsaUnwrapper(bits));
        return new RsaUnwrapper() {
            @Override
            public java.security.interfaces.RSAPublicKey publicKey() {
                return unwrapper.publicKey();
            }

            @Override
            public byte[] rawDecrypt(byte[] ciphertext) {
                return call("unwrap", () -> unwrapper.rawDecrypt(ciphertext));
            }
        };
    }

    @Override
    public Signer signer(String label) {
        Signer signer = call("signing_key", () -> delegate.signer(label));
        return new Signer() {
            @Override
            public java.security.PublicKey publicKey() {
                return signer.publicKey();
            }

            @Override
            public byte[] sign(byte[] data) {
                return call("sign", () -> signer.sign(data));
            }
        };
    }

    @Override
    public byte[] encrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] plaintext) {
        return call("encrypt", () -> delegate.encrypt(key, iv, aad, plaintext));
    }

    @Override
    public byte[] decrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] ciphertextAndTag) {
        return call("decrypt", () -> delegate.decrypt(key, iv, aad, ciphertextAndTag));
    }

    @Override
    public byte[] generateRandom(int length) {
        return call("generate_random", () -> delegate.generateRandom(length));
    }

    @Override
    public void destroyKey(HsmKeyRef key) {
        call("destroy_key", () -> {
            delegate.destroyKey(key);
            return null;
        });
    }

    @Override
    public List<String> listKeyLabels() {
        return call("list_keys", delegate::listKeyLabels);
    }

    /** Never gated: the health check is what finds out that the HSM is back. */
    @Override
    public void checkHealth() {
        healthCheck(delegate::checkHealth);
    }

    /**
     * The service's health check: an encryption under {@code probeKey}, a key kept for nothing
     * else, with an IV from the token's RNG, so both are exercised. A stored key must be used
     * because a token's RNG can keep answering after its object store is gone (SoftHSM does).
     * Never gated.
     */
    public void probe(HsmKeyRef probeKey) {
        healthCheck(() -> delegate.encrypt(probeKey, delegate.generateRandom(12), new byte[0], PROBE_BLOCK));
    }

    private void healthCheck(Runnable check) {
        long started = System.nanoTime();
        try {
            check.run();
        } catch (HsmException e) {
            errors("health_check", e.reason().name()).increment();
            throw e;
        } finally {
            timer("health_check").record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        delegate.close();
    }

    private <T> T call(String operation, Supplier<T> call) {
        if (!serving) {
            errors(operation, "NOT_SERVING").increment();
            throw new HsmException(HsmException.Reason.DEVICE, operation);
        }
        inFlight.incrementAndGet();
        long started = System.nanoTime();
        try {
            return call.get();
        } catch (HsmException e) {
            errors(operation, e.reason().name()).increment();
            throw e;
        } finally {
            inFlight.decrementAndGet();
            timer(operation).record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        }
    }

    private Timer timer(String operation) {
        return timers.computeIfAbsent(operation, op -> Timer.builder("hsmkms.hsm.call").tag("operation", op)
                .publishPercentileHistogram().register(registry));
    }

    private Counter errors(String operation, String reason) {
        return Counter.builder("hsmkms.hsm.errors").tag("operation", operation).tag("reason", reason).register(registry);
    }
}
