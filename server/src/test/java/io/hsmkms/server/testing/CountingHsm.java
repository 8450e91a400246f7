package io.hsmkms.server.testing;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmKeyRef;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The real HSM with a counter in front, to prove which requests reach it. */
public final class CountingHsm implements Hsm {
    private final Hsm delegate;
    private final AtomicLong calls = new AtomicLong();
    private volatile java.util.function.Consumer<HsmKeyRef> beforeDestroy = key -> { };
    private volatile java.util.function.Consumer<HsmKeyRef> beforeEncrypt = key -> { };

    public CountingHsm(Hsm delegate) {
        this.delegate = delegate;
    }

    /** Runs before every destroyKey reaches the HSM: to pause it, or fail it as a dying node would. */
    public void beforeDestroy(java.util.function.Consumer<HsmKeyRef> hook) {
        this.beforeDestroy = hook;
    }

    /** Runs before every encrypt reaches the HSM: to hold one up, as a slow or remote HSM would. */
    public void beforeEncrypt(java.util.function.Consumer<HsmKeyRef> hook) {
        this.beforeEncrypt = hook;
    }

    /** Calls made so far, not counting health checks and audit signatures. */
    public long calls() {
        return calls.get();
    }

    @Override
    public HsmKeyRef generateAesKey(String label) {
        calls.incrementAndGet();
        return delegate.generateAesKey(label);
    }

    @Override
    public HsmKeyRef importAesKey(String label, byte[] material) {
        calls.incrementAndGet();
        return delegate.importAesKey(label, material);
    }

    @Override
    public byte[] keyCheckValue(HsmKeyRef key) {
        calls.incrementAndGet();
        return delegate.keyCheckValue(key);
    }

    @Override
    public RsaUnwrapper generateRsaUnwrapper(int bits) {
        calls.incrementAndGet();
        return delegate.generateRsaUnwrapper(bits);
    }

    @Override
    public Signer signer(String label) {
        return delegate.signer(label);
    }

    @Override
    public byte[] encrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] plaintext) {
        calls.incrementAndGet();
        beforeEncrypt.accept(key);
        return delegate.encrypt(key, iv, aad, plaintext);
    }

    @Override
    public byte[] decrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] ciphertextAndTag) {
        calls.incrementAndGet();
        return delegate.decrypt(key, iv, aad, ciphertextAndTag);
    }

    @Override
    public byte[] generateRandom(int length) {
        calls.incrementAndGet();
        return delegate.generateRandom(length);
    }

    @Override
    public void destroyKey(HsmKeyRef key) {
        calls.incrementAndGet();
        beforeDestroy.accept(key);
        delegate.destroyKey(key);
    }

    @Override
    public List<String> listKeyLabels() {
        calls.incrementAndGet();
        return delegate.listKeyLabels();
    }

    @Override
    public void checkHealth() {
        delegate.checkHealth();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
