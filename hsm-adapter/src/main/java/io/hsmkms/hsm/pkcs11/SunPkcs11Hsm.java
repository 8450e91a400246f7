package io.hsmkms.hsm.pkcs11;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmException.Reason;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.hsm.TokenWriteLock;
import java.security.AuthProvider;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Hsm} through the JDK's SunPKCS11 provider.
 *
 * <p>AES keys: with the direct path ({@link DirectGcm}, the default where the JDK lets us use its PKCS#11 wrapper)
 * a key is generated straight into a labelled token object, and labels are resolved through DirectGcm's index
 * of token keys; the KeyStore is not involved, because each of its lookups searches the token by label and
 * each setEntry lists the whole token, and SoftHSM answers both by reading every object. Without the direct
 * path, keys are generated as session objects under a template that makes them sensitive and non-extractable,
 * then copied into labelled token objects through the PKCS#11 KeyStore (SunPKCS11 cannot label a key at
 * generation time), and key handles are cached by label.
 *
 * <p>Either way, a label this process has not resolved yet lists the token's keys, so keys created by another
 * process sharing the token (another node) are found. A listing reads every object, so it is never done per
 * call: only on a miss, single-flight (threads that missed while a listing ran use its result instead of
 * listing again), and a label a listing just failed to find is answered NOT_FOUND without another listing for
 * {@link #MISS_MEMORY_NANOS}. Imported keys, key check values and the audit signing key go through the
 * KeyStore. A semaphore bounds the operations in flight below the token's session limit.
 */
public final class SunPkcs11Hsm implements Hsm {
    private static final Logger LOG = LoggerFactory.getLogger(SunPkcs11Hsm.class);
    private static final String AES_GCM = "AES/GCM/NoPadding";
    private static final int GCM_TAG_BITS = 128;
    private static final int AES_256_BITS = 256;
    private static final int MAX_RANDOM_BYTES = 64 * 1024;

    private final Provider provider;
    private final KeyStore keyStore;
    private final char[] pin;
    private final Semaphore inFlight;
    private final long acquireTimeoutNanos;
    private final SecureRandom random;
    /** Requests up to {@link RandomPool#MAX_REQUEST_BYTES} (IVs, data keys) come from blocks of the token's randomness. */
    private final RandomPool randomPool;
    /** AES-GCM without SunPKCS11's Cipher (see {@link DirectGcm}), or null where the JDK does not let us. */
    private final DirectGcm directGcm;
    private final TokenWriteLock tokenWrites;
    /**
     * How long a label that a reload did not find is answered NOT_FOUND without reloading again. Safe
     * because the service names a label only after its object exists (material before metadata), so a
     * label missing after a reload is gone, not late; and it stops a stream of requests for missing
     * material from turning into a stream of full token listings.
     */
    static final long MISS_MEMORY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int MAX_REMEMBERED_MISSES = 10_000;
    private static final int RELOAD_ATTEMPTS = 3;

    private final ConcurrentMap<String, Key> keys = new ConcurrentHashMap<>();
    /** Serialises KeyStore reads and writes: reloads and setEntry must not interleave. */
    private final Object keyStoreLock = new Object();
    /** Reloads begun so far; written under {@link #keyStoreLock}, read before waiting for it. */
    private volatile long reloadsStarted;
    /** Labels the last reloads did not find, with the System.nanoTime() of that reload; under the lock. */
    private final java.util.Map<String, Long> recentMisses = new java.util.HashMap<>();

    private SunPkcs11Hsm(Provider provider, KeyStore keyStore, char[] pin, Pkcs11Config config, boolean directGcm,
                         TokenWriteLock tokenWrites) throws Exception {
        this.provider = provider;
        this.tokenWrites = tokenWrites;
        this.keyStore = keyStore;
        this.pin = pin;
        this.inFlight = new Semaphore(config.maxConcurrency(), true);
        this.acquireTimeoutNanos = config.acquireTimeout().toNanos();
        this.random = SecureRandom.getInstance("PKCS11", provider);
        this.randomPool = new RandomPool(this::fillFromToken, System::nanoTime, acquireTimeoutNanos);
        this.directGcm = directGcm ? openDirectGcm(config) : null;
    }

    /** After the provider's login, which our own sessions then share. Never fails the open: the Cipher path works everywhere. */
    private static DirectGcm openDirectGcm(Pkcs11Config config) {
        DirectGcm direct;
        try {
            direct = DirectGcm.open(config, config.maxConcurrency());
        } catch (LinkageError e) {
            direct = null;
        }
        if (direct != null) {
            LOG.info("AES-GCM path: direct PKCS#11 on session copies of the token keys");
        } else {
            LOG.info("AES-GCM path: SunPKCS11 Cipher (the direct path needs --add-exports "
                    + "jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED)");
        }
        return direct;
    }

    /** Loads the PKCS#11 module, logs in and returns a ready HSM, for a token no other process writes. */
    public static SunPkcs11Hsm open(Pkcs11Config config) {
        return open(config, TokenWriteLock.NONE);
    }

    /** As {@link #open(Pkcs11Config)}, for a token other processes (nodes) write too: they take {@code tokenWrites}. */
    public static SunPkcs11Hsm open(Pkcs11Config config, TokenWriteLock tokenWrites) {
        return open(config, true, tokenWrites);
    }

    /** As {@link #open(Pkcs11Config)}; without {@code directGcm} AES-GCM goes through SunPKCS11's Cipher (tests compare the two). */
    static SunPkcs11Hsm open(Pkcs11Config config, boolean directGcm) {
        return open(config, directGcm, TokenWriteLock.NONE);
    }

    static SunPkcs11Hsm open(Pkcs11Config config, boolean directGcm, TokenWriteLock tokenWrites) {
        char[] pin = config.pin().read();
        try {
            Provider base = Security.getProvider("SunPKCS11");
            if (base == null) {
                throw new IllegalStateException("the JDK has no SunPKCS11 provider (module jdk.crypto.cryptoki)");
            }
            Provider provider = base.configure("--" + config.sunPkcs11ConfigText("hsmkms"));
            KeyStore keyStore = KeyStore.getInstance("PKCS11", provider);
            keyStore.load(null, pin);
            SunPkcs11Hsm hsm = new SunPkcs11Hsm(provider, keyStore, pin, config, directGcm, tokenWrites);
            LOG.info("HSM session open: library={} {}", config.library(),
                    config.slot() != null ? "slot=" + config.slot() : "slotListIndex=" + config.slotListIndex());
            return hsm;
        } catch (HsmException | IllegalStateException e) {
            Arrays.fill(pin, '\0');
            throw e;
        } catch (Exception e) {
            Arrays.fill(pin, '\0');
            // A wrong PIN, missing library and absent token all end here; say which part to check
            // without repeating what the library said (it may quote configuration).
            throw new IllegalStateException("cannot open the HSM token (check library path, slot and PIN): "
                    + Pkcs11Errors.classify("open", e).reason());
        }
    }

    @Override
    public HsmKeyRef generateAesKey(String label) {
        HsmKeyRef ref = new HsmKeyRef(label);
        return writing("generate key", () -> {
            if (directGcm != null) {
                // No listing of the token here: the service's labels are new by construction (key ids,
                // random suffixes, node ids), and a listing per create made creating N keys cost N^2 (each
                // listing reads every object: 3,000 keys took minutes). What this process has seen is checked.
                if (keyStore.containsAlias(label) || directGcm.knows(label)) {
                    throw new HsmException(Reason.ALREADY_EXISTS, "generate key");
                }
                directGcm.generateTokenKey(label);
                recentMisses.remove(label);
                return ref;
            }
            // setEntry on an existing label would destroy that key: check first, under the lock.
            if (keyStore.containsAlias(label) || reloadedContains(label)) {
                throw new HsmException(Reason.ALREADY_EXISTS, "generate key");
            }
            KeyGenerator generator = KeyGenerator.getInstance("AES", provider);
            generator.init(AES_256_BITS);
            store(label, generator.generateKey(), "generate key");
            return ref;
        });
    }

    @Override
    public HsmKeyRef importAesKey(String label, byte[] material) {
        HsmKeyRef ref = new HsmKeyRef(label);
        if (material.length != 16 && material.length != 24 && material.length != 32) {
            throw new IllegalArgumentException("AES key material is 16, 24 or 32 bytes");
        }
        return writing("import key", () -> {
            if (keyStore.containsAlias(label) || (directGcm != null && directGcm.knows(label)) || reloadedContains(label)) {
                throw new HsmException(Reason.ALREADY_EXISTS, "import key");
            }
            store(label, new SecretKeySpec(material, "AES"), "import key");
            return ref;
        });
    }

    /**
     * Under the lock, for a label the token does not have: copies the key into a new token object and caches its
     * handle. setEntry makes the object and then lists the whole token to refresh its aliases; that listing fails
     * when another process (node) destroys an object meanwhile, although the object was made. A fresh listing
     * tells which happened, so a race with another node's clean-up does not fail the call or orphan the object.
     */
    private void store(String label, Key key, String operation) throws Exception {
        try {
            keyStore.setEntry(label, new KeyStore.SecretKeyEntry((SecretKey) key), null);
        } catch (java.security.KeyStoreException | java.security.ProviderException e) {
            if (!reloadedContains(label)) {
                throw e;
            }
            LOG.debug("{}: the token listing after storing {} failed, but the object is there", operation, label);
        }
        Key tokenKey = keyStore.getKey(label, null);
        if (tokenKey == null) {
            throw new HsmException(Reason.DEVICE, operation);
        }
        keys.put(label, tokenKey);
        recentMisses.remove(label);
    }

    @Override
    public byte[] keyCheckValue(HsmKeyRef key) {
        Key handle = handle(key);
        return withPermit("key check value", () -> {
            Cipher cipher = Cipher.getInstance("AES/ECB/NoPadding", provider);
            cipher.init(Cipher.ENCRYPT_MODE, handle);
            return cipher.doFinal(new byte[16]);
        });
    }

    @Override
    public RsaUnwrapper generateRsaUnwrapper(int bits) {
        if (bits != 2048 && bits != 3072 && bits != 4096) {
            throw new IllegalArgumentException("RSA wrapping keys are 2048, 3072 or 4096 bits");
        }
        KeyPair pair = withPermit("generate wrapping key", () -> {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA", provider);
            generator.initialize(bits);
            return generator.generateKeyPair();
        });
        RSAPublicKey publicKey = (RSAPublicKey) pair.getPublic();
        return new RsaUnwrapper() {
            @Override
            public RSAPublicKey publicKey() {
                return publicKey;
            }

            @Override
            public byte[] rawDecrypt(byte[] ciphertext) {
                byte[] decrypted = withPermit("unwrap", () -> {
                    Cipher cipher = Cipher.getInstance("RSA/ECB/NoPadding", provider);
                    cipher.init(Cipher.DECRYPT_MODE, pair.getPrivate());
                    return cipher.doFinal(ciphertext);
                });
                int length = (publicKey.getModulus().bitLength() + 7) / 8;
                if (decrypted.length == length) {
                    return decrypted;
                }
                byte[] padded = new byte[length];
                System.arraycopy(decrypted, 0, padded, length - decrypted.length, decrypted.length);
                java.util.Arrays.fill(decrypted, (byte) 0);
                return padded;
            }
        };
    }

    @Override
    public Signer signer(String label) {
        KeyStore.PrivateKeyEntry entry = writing("signing key", () -> {
            if (keyStore.containsAlias(label) || reloadedContains(label)) {
                if (keyStore.getEntry(label, null) instanceof KeyStore.PrivateKeyEntry existing) {
                    return existing;
                }
                throw new HsmException(Reason.ALREADY_EXISTS, "signing key");
            }
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", provider);
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            X509Certificate certificate = SelfSignedCertificates.create(pair, label, provider);
            keyStore.setEntry(label, new KeyStore.PrivateKeyEntry(pair.getPrivate(),
                    new java.security.cert.Certificate[] {certificate}), null);
            if (!(keyStore.getEntry(label, null) instanceof KeyStore.PrivateKeyEntry stored)) {
                throw new HsmException(Reason.DEVICE, "signing key");
            }
            return stored;
        });
        PrivateKey privateKey = entry.getPrivateKey();
        PublicKey publicKey = entry.getCertificate().getPublicKey();
        return new Signer() {
            @Override
            public PublicKey publicKey() {
                return publicKey;
            }

            @Override
            public byte[] sign(byte[] data) {
                return withPermit("sign", () -> {
                    Signature signature = Signature.getInstance("SHA256withECDSA", provider);
                    signature.initSign(privateKey);
                    signature.update(data);
                    return signature.sign();
                });
            }
        };
    }

    @Override
    public byte[] encrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] plaintext) {
        return gcm("encrypt", Cipher.ENCRYPT_MODE, key, iv, aad, plaintext);
    }

    @Override
    public byte[] decrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] ciphertextAndTag) {
        return gcm("decrypt", Cipher.DECRYPT_MODE, key, iv, aad, ciphertextAndTag);
    }

    @Override
    public byte[] generateRandom(int length) {
        if (length < 1 || length > MAX_RANDOM_BYTES) {
            throw new IllegalArgumentException("random length must be 1.." + MAX_RANDOM_BYTES);
        }
        return length <= RandomPool.MAX_REQUEST_BYTES ? randomPool.take(length) : randomFromToken(length);
    }

    private byte[] randomFromToken(int length) {
        byte[] bytes = new byte[length];
        fillFromToken(bytes);
        return bytes;
    }

    /** One C_GenerateRandom under a permit: large requests, the health check and the pool's refills. */
    private void fillFromToken(byte[] out) {
        withPermit("generate random", () -> {
            random.nextBytes(out);
            return null;
        });
    }

    /** Blocks of the token's randomness filled so far (tests). */
    long randomRefills() {
        return randomPool.refills();
    }

    @Override
    public void destroyKey(HsmKeyRef key) {
        writing("destroy key", () -> {
            keys.remove(key.label());
            if (directGcm != null) {
                // By handle, without the KeyStore (whose deleteEntry lists the whole token); its alias map may
                // keep the label until its next reload, and a lookup there then finds no object: NOT_FOUND.
                if (!directGcm.destroyTokenKey(key.label())) {
                    throw new HsmException(Reason.NOT_FOUND, "destroy key");
                }
                return null;
            }
            if (!keyStore.containsAlias(key.label()) && !reloadedContains(key.label())) {
                throw new HsmException(Reason.NOT_FOUND, "destroy key");
            }
            keyStore.deleteEntry(key.label());
            return null;
        });
    }

    @Override
    public List<String> listKeyLabels() {
        if (directGcm != null) {
            // Not under the lock: with 100,000 keys a listing takes seconds, and creates and first uses wait for
            // the lock (the reconciler's listing every 10 minutes stalled creates until the health probe timed out).
            return withPermit("list keys", () -> directGcm.listTokenKeys().stream().sorted().toList());
        }
        return lockedWithPermit("list keys", () -> {
            reloadKeyStore();
            List<String> labels = new ArrayList<>();
            for (String alias : Collections.list(keyStore.aliases())) {
                if (keyStore.entryInstanceOf(alias, KeyStore.SecretKeyEntry.class)) {
                    labels.add(alias);
                }
            }
            Collections.sort(labels);
            return List.copyOf(labels);
        });
    }

    @Override
    public void checkHealth() {
        randomFromToken(16); // from the token, never the pool: the check is that the token answers
    }

    @Override
    public void close() {
        keys.clear();
        if (directGcm != null) {
            // Before the logout below, which would leave these sessions public and their copies unusable.
            directGcm.close();
        }
        try {
            if (provider instanceof AuthProvider auth) {
                auth.logout();
            }
        } catch (Exception e) {
            LOG.warn("HSM logout failed: {}", Pkcs11Errors.classify("logout", e).reason());
        } finally {
            Arrays.fill(pin, '\0');
        }
    }

    /**
     * One AES-GCM operation. A label the token lacks fails the same way on both paths: one listing (single-flight),
     * then NOT_FOUND, remembered for {@link #MISS_MEMORY_NANOS}. The direct path never asks the KeyStore: a
     * KeyStore lookup searches the token by label, which SoftHSM answers by reading every object.
     */
    private byte[] gcm(String operation, int mode, HsmKeyRef key, byte[] iv, byte[] aad, byte[] input) {
        if (directGcm != null) {
            requireListed(key);
            return withPermit(operation, () -> mode == Cipher.ENCRYPT_MODE
                    ? directGcm.encrypt(key.label(), iv, aad, input)
                    : directGcm.decrypt(key.label(), iv, aad, input));
        }
        Key handle = handle(key);
        // Always finished with doFinal so no native session stays bound to the Cipher.
        return withPermit(operation, () -> {
            Cipher cipher = Cipher.getInstance(AES_GCM, provider);
            cipher.init(mode, handle, new GCMParameterSpec(GCM_TAG_BITS, iv));
            if (aad.length > 0) {
                cipher.updateAAD(aad);
            }
            return cipher.doFinal(input);
        });
    }

    private Key handle(HsmKeyRef key) {
        Key cached = keys.get(key.label());
        if (cached != null) {
            return cached;
        }
        // Read before waiting for the lock: a reload that starts after this point saw every object that
        // existed when this call missed, so its result answers this call too.
        long reloadsBeforeMiss = reloadsStarted;
        return lockedWithPermit("find key", () -> {
            Key found = locate(key.label(), reloadsBeforeMiss, () -> reloadsStarted, this::findKey, this::reloadedContains);
            keys.put(key.label(), found);
            return found;
        });
    }

    /** The direct path's {@link #handle}: returns once DirectGcm's index of token keys has the label. */
    private void requireListed(HsmKeyRef key) {
        if (directGcm.knows(key.label())) {
            return;
        }
        long listingsBeforeMiss = directGcm.tokenListings();
        lockedWithPermit("find key", () -> locate(key.label(), listingsBeforeMiss, directGcm::tokenListings,
                label -> directGcm.knows(label) ? Boolean.TRUE : null,
                label -> remembering(label, directGcm.listTokenKeys().contains(label))));
    }

    /**
     * Under the lock: what {@code lookup} finds under a label this process has not resolved yet. A listing begun
     * after the caller's miss (another thread's: single-flight) answers it; otherwise the token is listed. A
     * label no listing found fails as NOT_FOUND and is remembered as missing for {@link #MISS_MEMORY_NANOS}.
     */
    private <T> T locate(String label, long listingsBeforeMiss, java.util.function.LongSupplier listings,
                         Lookup<T> lookup, Listing listed) throws Exception {
        T found = lookup.find(label);
        if (found == null && !recentlyMissing(label)) {
            if (listings.getAsLong() == listingsBeforeMiss && listed.contains(label)) {
                found = lookup.find(label);
            }
            if (found == null) {
                // One listing can miss an object another process is still writing (SoftHSM then reads the
                // file empty): list once more, 50 ms later, before the label counts as gone and its key as
                // unavailable. (An object SoftHSM lost track of stays unseen however often we list: see
                // DirectGcm.catchUpWithOtherProcesses, which keeps that from happening.)
                Thread.sleep(50);
                if (listed.contains(label)) {
                    found = lookup.find(label);
                }
            }
        }
        if (found == null) {
            throw new HsmException(Reason.NOT_FOUND, "find key");
        }
        return found;
    }

    @FunctionalInterface
    private interface Lookup<T> {
        T find(String label) throws Exception;
    }

    @FunctionalInterface
    private interface Listing {
        boolean contains(String label) throws Exception;
    }

    /**
     * Under the lock: lists the token afresh. Another process sharing the token (another node) may destroy an
     * object while this one lists it; the listing then reads a handle that has just become invalid and fails as a
     * whole. A new listing no longer sees that object, so the reload is tried again before it counts as a failure.
     */
    private void reloadKeyStore() throws Exception {
        reloadsStarted++;
        for (int attempt = 1; ; attempt++) {
            try {
                keyStore.load(null, pin);
                return;
            } catch (Exception e) {
                if (attempt == RELOAD_ATTEMPTS) {
                    throw e;
                }
                LOG.debug("KeyStore reload {} failed ({}); listing again", attempt, Pkcs11Errors.classify("reload", e).reason());
            }
        }
    }

    /**
     * Under the lock: the key under a label the KeyStore knows, or null. A lookup can fail when the object it
     * knew was destroyed by another node; after a fresh listing the answer is right again.
     */
    private Key findKey(String label) throws Exception {
        try {
            return keyStore.getKey(label, null);
        } catch (java.security.KeyStoreException | java.security.ProviderException
                 | java.security.UnrecoverableKeyException e) {
            LOG.debug("looking up {} failed ({}); listing the token again", label, Pkcs11Errors.classify("find key", e).reason());
            return reloadedContains(label) ? keyStore.getKey(label, null) : null;
        }
    }

    /** The direct AES-GCM path, or null when this JVM uses SunPKCS11's Cipher (for tests). */
    DirectGcm directGcm() {
        return directGcm;
    }

    /** How many times this adapter has listed the token's keys, through the KeyStore or directly (tests, diagnostics). */
    public long tokenListings() {
        return reloadsStarted + (directGcm == null ? 0 : directGcm.tokenListings());
    }

    /** Under the lock: whether a reload less than {@link #MISS_MEMORY_NANOS} ago did not find the label. */
    private boolean recentlyMissing(String label) {
        Long missedAt = recentMisses.get(label);
        if (missedAt == null) {
            return false;
        }
        if (System.nanoTime() - missedAt < MISS_MEMORY_NANOS) {
            return true;
        }
        recentMisses.remove(label);
        return false;
    }

    /**
     * Under the lock: reloads the KeyStore (sees objects other processes created) and checks for the
     * label, remembering a miss for {@link #MISS_MEMORY_NANOS}.
     */
    private boolean reloadedContains(String label) throws Exception {
        reloadKeyStore();
        return remembering(label, keyStore.containsAlias(label));
    }

    /** Under the lock, after a fresh listing: remembers a miss for {@link #MISS_MEMORY_NANOS} and forgets a hit. */
    private boolean remembering(String label, boolean present) {
        long now = System.nanoTime();
        recentMisses.values().removeIf(missedAt -> now - missedAt >= MISS_MEMORY_NANOS);
        if (present) {
            recentMisses.remove(label);
        } else if (recentMisses.size() < MAX_REMEMBERED_MISSES) {
            recentMisses.put(label, now);
        }
        return present;
    }

    /**
     * Under the KeyStore lock, then a permit. In this order a thread waiting for the lock (behind a create or a
     * listing) holds no permit, so waiting never takes the token's sessions from the operations in flight or
     * from the health probe. Nothing that holds a permit waits for the lock.
     */
    private <T> T lockedWithPermit(String operation, HsmCall<T> call) {
        synchronized (keyStoreLock) {
            return withPermit(operation, call);
        }
    }

    /**
     * A call that adds or removes token objects: under the adapter's lock, then the token write lock shared
     * with other nodes, then a permit. Only the thread holding the adapter's lock waits for other nodes, so a
     * node never has more than one call (and one database connection) waiting for the token, and no waiting
     * call holds a permit.
     */
    private <T> T writing(String operation, HsmCall<T> call) {
        synchronized (keyStoreLock) {
            TokenWriteLock.Held held;
            try {
                held = tokenWrites.acquire();
            } catch (RuntimeException e) {
                LOG.warn("{}: the token write lock shared with other nodes is not available: {}", operation,
                        e.getClass().getSimpleName());
                throw new HsmException(Reason.BUSY, operation);
            }
            try (held) {
                return withPermit(operation, call);
            }
        }
    }

    private <T> T withPermit(String operation, HsmCall<T> call) {
        boolean acquired;
        try {
            acquired = inFlight.tryAcquire(acquireTimeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HsmException(Reason.BUSY, operation);
        }
        if (!acquired) {
            throw new HsmException(Reason.BUSY, operation);
        }
        try {
            return call.run();
        } catch (Exception e) {
            throw Pkcs11Errors.classify(operation, e);
        } finally {
            inFlight.release();
        }
    }

    @FunctionalInterface
    private interface HsmCall<T> {
        T run() throws Exception;
    }
}
