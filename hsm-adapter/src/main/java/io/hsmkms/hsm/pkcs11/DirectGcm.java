package io.hsmkms.hsm.pkcs11;

import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_CLASS;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_EXTRACTABLE;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_LABEL;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_SENSITIVE;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_TOKEN;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_KEY_TYPE;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_PRIVATE;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKA_VALUE_LEN;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKF_RW_SESSION;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKF_SERIAL_SESSION;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKK_AES;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKM_AES_KEY_GEN;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKM_AES_GCM;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKS_RO_USER_FUNCTIONS;
import static sun.security.pkcs11.wrapper.PKCS11Constants.CKS_RW_USER_FUNCTIONS;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmException.Reason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import javax.crypto.AEADBadTagException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.security.pkcs11.wrapper.CK_ATTRIBUTE;
import sun.security.pkcs11.wrapper.CK_GCM_PARAMS;
import sun.security.pkcs11.wrapper.CK_MECHANISM;
import sun.security.pkcs11.wrapper.PKCS11;
import sun.security.pkcs11.wrapper.PKCS11Exception;

/**
 * AES-GCM straight through the JDK's internal PKCS#11 wrapper, on a session-object copy of each
 * labelled token key. Measured against SunPKCS11's Cipher (HSM-FACTS.md): that Cipher initialises
 * the token operation twice whenever there is AAD, and SoftHSM uses token objects ~3.5x slower than
 * session objects. Here the AAD goes into CK_GCM_PARAMS, so each call is one C_xxxInit and one
 * C_Encrypt/C_Decrypt on a session object.
 *
 * <p>What keeps the copies safe: a copy is made with C_CopyObject changing only CKA_TOKEN, and is
 * used only after reading back CKA_SENSITIVE=true, CKA_EXTRACTABLE=false, CKA_TOKEN=false (PKCS#11
 * forbids relaxing the first two anyway). Nothing here reads CKA_VALUE. Copies live in one session
 * that this class owns; closing it destroys them, as does {@link #forget}. Because a copy would
 * outlive its token object (another node or an operator may destroy it, or the token may vanish),
 * a copy is used only while a check that its token object still exists (one attribute read on the
 * token object's handle) is less than {@link #RECHECK_NANOS} old, as long as no more than 50 keys are
 * due a check each second ({@link #RECHECK_SPACING_NANOS}).
 *
 * <p>It also generates and destroys the labelled AES token keys themselves, and keeps an index of their handles
 * by label from one listing of the token, so that making, finding and using a key never lists the token once
 * the index knows its label (see SunPkcs11Hsm).
 *
 * <p>The caller (SunPkcs11Hsm) holds a concurrency permit around every call, which also bounds the
 * operation sessions this class opens.
 */
final class DirectGcm implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DirectGcm.class);
    static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * At most one recheck per this interval over all keys (50 a second). Each recheck reads a token object
     * file in SoftHSM; with 1,000 keys in use, one per key and second was a fifth of all calls and cost 18 %
     * of the throughput (bin/bench --keys 1000). Past this many keys, a key's copy is rechecked less often
     * than every second (1,000 keys: about every 20 s); the few keys of a quiet node, the health probe's
     * among them, still every second.
     */
    static final long RECHECK_SPACING_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final int TAG_BYTES = 16;
    // PKCS#11 return values, spelled out: the JDK has moved its constants for them between releases.
    private static final long CKR_GENERAL_ERROR = 0x05L;
    private static final long CKR_ENCRYPTED_DATA_INVALID = 0x40L;
    private static final long CKR_ENCRYPTED_DATA_LEN_RANGE = 0x41L;
    private static final long CKR_OBJECT_HANDLE_INVALID = 0x82L;

    /** The flags as attributes, resolved by name once: the config text and this path cannot drift apart. */
    private static final List<CK_ATTRIBUTE> AES_KEY_FLAGS = Pkcs11Config.AES_KEY_FLAGS.stream().map(flag -> {
        try {
            long type = sun.security.pkcs11.wrapper.PKCS11Constants.class.getField(flag.getKey()).getLong(null);
            return new CK_ATTRIBUTE(type, (boolean) flag.getValue());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("unknown PKCS#11 attribute " + flag.getKey(), e);
        }
    }).toList();

    private final PKCS11 p11;
    private final long slot;
    private final boolean normativeGcmParams;
    /** Owns the session-object copies and makes and destroys token keys; PKCS#11 sessions are single-threaded, so calls on it are serialised. */
    private final long objectSession;
    private final Object objectSessionLock = new Object();
    private final LinkedBlockingQueue<Long> idleSessions;
    /**
     * What is known of each label's token key. Handles come from one listing of the token's secret keys: SoftHSM
     * answers a find by label by checking every object file (30 ms per call with 1,000 keys, measured), so labels
     * are listed all at once, and again only when a label is not in the last listing.
     */
    private final ConcurrentMap<String, Known> known = new ConcurrentHashMap<>();
    private final AtomicLong operations = new AtomicLong();
    private final AtomicLong tokenListings = new AtomicLong();
    private final AtomicLong labelReads = new AtomicLong();
    private final AtomicLong sessionsOpened = new AtomicLong();
    private final AtomicLong nextRecheck = new AtomicLong(System.nanoTime());
    private volatile boolean closed;

    /**
     * The token key under one label: its token object's handle (0 while no listing or search has found it) and its
     * session copy (null until the first operation needs one). One entry, and one label String, per key, where two
     * maps held two of each: a node may know 100,000 keys. Replaced, never changed, by the map's atomic operations.
     */
    private record Known(long tokenHandle, CompletableFuture<Copy> copy) {}

    /** A session-object copy of the token key under one label, and when its token object was last seen. */
    private static final class Copy {
        /** A field, not an AtomicLong: one object less for each of 100,000 keys. */
        static final AtomicLongFieldUpdater<Copy> CHECKED_AT = AtomicLongFieldUpdater.newUpdater(Copy.class, "checkedAt");
        final long handle;
        /** Updated when a search by label found the object under another handle, so the next check is a read again. */
        volatile long tokenHandle;
        volatile long checkedAt;

        Copy(long handle, long tokenHandle, long checkedAt) {
            this.handle = handle;
            this.tokenHandle = tokenHandle;
            this.checkedAt = checkedAt;
        }
    }

    private DirectGcm(PKCS11 p11, long slot, long objectSession, int maxSessions) throws PKCS11Exception {
        this.p11 = p11;
        this.slot = slot;
        this.objectSession = objectSession;
        this.idleSessions = new LinkedBlockingQueue<>(maxSessions);
        // The same choice SunPKCS11 makes for the CK_GCM_PARAMS layout (with or without ulIvBits).
        var version = p11.C_GetInfo().cryptokiVersion;
        this.normativeGcmParams = version.major > 2 || (version.major == 2 && version.minor >= 40);
    }

    /**
     * The wrapper instance SunPKCS11 already initialised for this library (the JDK keeps one per
     * library path), or null with the reason logged at DEBUG when it cannot be used: the package is
     * not exported to us, the JDK's wrapper has another shape, or our sessions would not be logged in.
     * Call only after the provider has logged in: login state is per application and token, so
     * sessions opened here are user sessions.
     */
    static DirectGcm open(Pkcs11Config config, int maxSessions) {
        long session = 0;
        PKCS11 p11 = null;
        try {
            // omitInitialize: the provider initialised the module; initialising again would be an error.
            p11 = PKCS11.getInstance(config.library().toString(), "C_GetFunctionList", null, true);
            long slot = config.slot() != null ? config.slot() : p11.C_GetSlotList(false)[config.slotListIndex()];
            // Read/write: token keys are made and destroyed in it too. Not a session per create: SoftHSM's
            // C_CloseSession walks every object handle it has given out (at about 6,000 keys, 15 creates
            // were seen queued behind one close).
            session = p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, null, null);
            long state = p11.C_GetSessionInfo(session).state;
            if (state != CKS_RO_USER_FUNCTIONS && state != CKS_RW_USER_FUNCTIONS) {
                LOG.debug("direct GCM unavailable: a new session is not logged in (state {})", state);
                p11.C_CloseSession(session);
                return null;
            }
            return new DirectGcm(p11, slot, session, maxSessions);
        } catch (IllegalAccessError | NoClassDefFoundError | NoSuchMethodError | NoSuchFieldError e) {
            LOG.debug("direct GCM unavailable: {}", e.toString());
            return null;
        } catch (Exception e) {
            LOG.debug("direct GCM unavailable: {}", e.toString());
            if (session != 0) {
                try {
                    p11.C_CloseSession(session);
                } catch (Exception ignored) {
                    // Nothing was made in it.
                }
            }
            return null;
        }
    }

    byte[] encrypt(String label, byte[] iv, byte[] aad, byte[] plaintext) throws Exception {
        long key = copyOf(label);
        long session = takeSession();
        boolean clean = false;
        try {
            p11.C_GCMEncryptInitWithRetry(session, mechanism(iv, aad), key, normativeGcmParams);
            byte[] out = new byte[plaintext.length + TAG_BYTES];
            int n = p11.C_Encrypt(session, 0, plaintext, 0, plaintext.length, 0, out, 0, out.length);
            clean = true;
            operations.incrementAndGet();
            return n == out.length ? out : Arrays.copyOf(out, n);
        } finally {
            release(session, clean);
        }
    }

    byte[] decrypt(String label, byte[] iv, byte[] aad, byte[] ciphertextAndTag) throws Exception {
        if (ciphertextAndTag.length < TAG_BYTES) {
            throw new HsmException(Reason.DATA, "decrypt");
        }
        long key = copyOf(label);
        long session = takeSession();
        boolean clean = false;
        try {
            p11.C_GCMDecryptInitWithRetry(session, mechanism(iv, aad), key, normativeGcmParams);
            byte[] out = new byte[ciphertextAndTag.length];
            int n;
            try {
                n = p11.C_Decrypt(session, 0, ciphertextAndTag, 0, ciphertextAndTag.length, 0, out, 0, out.length);
            } catch (PKCS11Exception e) {
                // Tokens report a failed tag check in different ways (SoftHSM: CKR_GENERAL_ERROR);
                // SunPKCS11 reads these as a bad tag too, so the classification stays as it was.
                long code = e.getErrorCode();
                if (code == CKR_ENCRYPTED_DATA_INVALID || code == CKR_ENCRYPTED_DATA_LEN_RANGE || code == CKR_GENERAL_ERROR) {
                    // A failed C_Decrypt ends the operation (PKCS#11: any error but CKR_BUFFER_TOO_SMALL), so the
                    // session goes back to the pool: closing it costs SoftHSM a walk over every handle, which with
                    // many keys on the token made each bad ciphertext far dearer than a good one.
                    clean = true;
                    AEADBadTagException badTag = new AEADBadTagException("tag mismatch");
                    badTag.initCause(e);
                    throw badTag;
                }
                throw e;
            }
            clean = true;
            operations.incrementAndGet();
            if (n == out.length) {
                return out;
            }
            byte[] plaintext = Arrays.copyOf(out, n);
            Arrays.fill(out, (byte) 0);
            return plaintext;
        } finally {
            release(session, clean);
        }
    }

    /**
     * Generates an AES-256 token key under this label, with the attributes SunPKCS11's generate template gives
     * ({@link Pkcs11Config#AES_KEY_FLAGS}) and the token, private and label attributes its KeyStore adds, and
     * remembers its handle. The caller has checked the label is new. Unlike the KeyStore's setEntry, this lists
     * nothing: making a key costs the same with 100,000 keys on the token as with one.
     */
    void generateTokenKey(String label) throws PKCS11Exception {
        List<CK_ATTRIBUTE> template = new ArrayList<>(List.of(
                new CK_ATTRIBUTE(CKA_CLASS, CKO_SECRET_KEY), new CK_ATTRIBUTE(CKA_KEY_TYPE, CKK_AES),
                new CK_ATTRIBUTE(CKA_VALUE_LEN, 32L), new CK_ATTRIBUTE(CKA_TOKEN, true),
                new CK_ATTRIBUTE(CKA_PRIVATE, true), new CK_ATTRIBUTE(CKA_LABEL, label)));
        template.addAll(AES_KEY_FLAGS);
        synchronized (objectSessionLock) {
            catchUpWithOtherProcesses();
            rememberHandle(label, p11.C_GenerateKey(objectSession, new CK_MECHANISM(CKM_AES_KEY_GEN),
                    template.toArray(CK_ATTRIBUTE[]::new)));
        }
    }

    /**
     * Makes SoftHSM look at the token directory now, right before this process adds an object. Its file store
     * re-reads the directory only when the token's generation number differs from the one it last saw, and its
     * own create sets that number to the new value: objects another process made since this one last looked
     * would stay invisible here for good (until some other process changes the token again). Reading the token
     * info checks the number; other tokens answer it from memory. The caller holds the nodes' token write lock,
     * so no other node's create falls between this look and the create. Destroys need no call: SoftHSM reads
     * the object first, which checks the number too.
     */
    private void catchUpWithOtherProcesses() throws PKCS11Exception {
        p11.C_GetTokenInfo(slot);
    }

    /**
     * Destroys the token key under this label and any copy of it; false if the token has no such key. The copy
     * goes first, so it never outlives the token object, and again afterwards, for a copy another thread made
     * from the object while it still existed.
     */
    boolean destroyTokenKey(String label) throws PKCS11Exception, InterruptedException {
        long handle;
        synchronized (objectSessionLock) {
            long listed = tokenKey(label);
            handle = listed == 0 ? confirmedByLabel(label) : tokenObjectExists(label, listed);
        }
        forget(label);
        if (handle == 0) {
            return false;
        }
        synchronized (objectSessionLock) {
            p11.C_DestroyObject(objectSession, handle);
        }
        forget(label);
        return true;
    }

    /** Whether a listing or a generate here has seen a token key under this label (no token call). */
    boolean knows(String label) {
        return handleOf(label) != 0;
    }

    private long handleOf(String label) {
        Known k = known.get(label);
        return k == null ? 0 : k.tokenHandle();
    }

    /** The label's token object is this handle; its copy, if any, stays. */
    private void rememberHandle(String label, long handle) {
        known.merge(label, new Known(handle, null),
                (old, fresh) -> old.tokenHandle() == handle ? old : new Known(handle, old.copy()));
    }

    /** No token object has the label now; its copy, if any, stays until its user drops it. */
    private void forgetHandle(String label) {
        known.computeIfPresent(label, (l, old) -> old.copy() == null ? null : new Known(0, old.copy()));
    }

    /** Drops this copy from the label's entry; false if the entry holds another one (or none). */
    private boolean dropCopy(String label, CompletableFuture<Copy> pending) {
        boolean[] dropped = {false};
        known.computeIfPresent(label, (l, old) -> {
            if (old.copy() != pending) {
                return old;
            }
            dropped[0] = true;
            return old.tokenHandle() == 0 ? null : new Known(old.tokenHandle(), null);
        });
        return dropped[0];
    }

    private static CK_MECHANISM mechanism(byte[] iv, byte[] aad) {
        return new CK_MECHANISM(CKM_AES_GCM, new CK_GCM_PARAMS(TAG_BYTES * 8, iv, aad.length == 0 ? null : aad));
    }

    /**
     * Destroys the copy under this label, if any, waiting for one being made. Called before the token
     * object is destroyed and again after it, so a copy made in between does not outlive it.
     */
    void forget(String label) {
        Known old = known.remove(label);
        CompletableFuture<Copy> pending = old == null ? null : old.copy();
        if (pending == null) {
            return;
        }
        Copy copy;
        try {
            copy = pending.join();
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            return;
        }
        destroy(copy);
    }

    /** Labels read from the token by listings (tests: a listing reads only handles it has not seen). */
    long labelReads() {
        return labelReads.get();
    }

    /** How many times the token's secret keys were listed (tests: once for many keys, not once per key). */
    long tokenListings() {
        return tokenListings.get();
    }

    /** Successful direct operations so far (tests use it to prove this path, not the fallback, ran). */
    long operations() {
        return operations.get();
    }

    /** The copy's CKA_SENSITIVE, CKA_EXTRACTABLE and CKA_TOKEN, as the token reports them (for tests). */
    boolean[] copyAttributes(String label) throws Exception {
        long handle = copyOf(label);
        CK_ATTRIBUTE[] attributes = safetyAttributes();
        synchronized (objectSessionLock) {
            p11.C_GetAttributeValue(objectSession, handle, attributes);
        }
        return new boolean[] {attributes[0].getBoolean(), attributes[1].getBoolean(), attributes[2].getBoolean()};
    }

    @Override
    public void close() {
        closed = true;
        for (String label : known.keySet()) {
            forget(label);
        }
        // Closing the session that made the copies would destroy them anyway; forget() above says so
        // explicitly, and this closes the operation sessions too before the provider logs out.
        closeQuietly(objectSession);
        for (Long session; (session = idleSessions.poll()) != null; ) {
            closeQuietly(session);
        }
    }

    /** The copy's handle, made on first use (one per label however many threads miss at once). */
    private long copyOf(String label) throws Exception {
        while (true) {
            Known k = known.get(label);
            CompletableFuture<Copy> pending = k == null ? null : k.copy();
            if (pending == null) {
                CompletableFuture<Copy> mine = new CompletableFuture<>();
                pending = known.compute(label, (l, old) -> old == null ? new Known(0, mine)
                        : old.copy() == null ? new Known(old.tokenHandle(), mine) : old).copy();
                if (pending == mine) {
                    try {
                        mine.complete(makeCopy(label));
                    } catch (Exception | Error e) {
                        dropCopy(label, mine);
                        mine.completeExceptionally(e);
                        throw e;
                    }
                }
            }
            Copy copy;
            try {
                copy = pending.join();
            } catch (CompletionException e) {
                // Another thread's attempt failed; its caller got the error. Try (and fail) on our own.
                continue;
            }
            if (stillBacked(label, pending, copy)) {
                return copy.handle;
            }
        }
    }

    /**
     * Whether the copy may still be used: yes while its token object was seen less than
     * {@link #RECHECK_NANOS} ago; otherwise one thread looks again (the others carry on with the
     * copy meanwhile), and an object that is gone by handle and by label drops the copy and fails the
     * call as NOT_FOUND.
     */
    private boolean stillBacked(String label, CompletableFuture<Copy> pending, Copy copy) throws Exception {
        long checked = copy.checkedAt;
        long now = System.nanoTime();
        if (now - checked < RECHECK_NANOS) {
            return true;
        }
        long slot = nextRecheck.get();
        if (now - slot < 0 || !nextRecheck.compareAndSet(slot, now + RECHECK_SPACING_NANOS)
                || !Copy.CHECKED_AT.compareAndSet(copy, checked, now)) {
            return true;
        }
        boolean present;
        try {
            synchronized (objectSessionLock) {
                long tokenHandle = tokenObjectExists(label, copy.tokenHandle);
                present = tokenHandle != 0;
                if (present) {
                    copy.tokenHandle = tokenHandle;
                }
            }
        } catch (Exception e) {
            // The token cannot be asked (e.g. it is gone): the copy must not keep serving without it.
            if (dropCopy(label, pending)) {
                destroy(copy);
            }
            throw e;
        }
        if (present) {
            return true;
        }
        if (dropCopy(label, pending)) {
            destroy(copy);
        }
        throw new HsmException(Reason.NOT_FOUND, "find key");
    }

    private Copy makeCopy(String label) throws Exception {
        if (closed) {
            throw new HsmException(Reason.SESSION, "find key");
        }
        synchronized (objectSessionLock) {
            long listed = tokenKey(label);
            long tokenKey = listed == 0 ? confirmedByLabel(label) : tokenObjectExists(label, listed);
            if (tokenKey == 0) {
                throw new HsmException(Reason.NOT_FOUND, "find key");
            }
            long now = System.nanoTime();
            long handle = p11.C_CopyObject(objectSession, tokenKey, new CK_ATTRIBUTE[] {new CK_ATTRIBUTE(CKA_TOKEN, false)});
            CK_ATTRIBUTE[] attributes = safetyAttributes();
            try {
                p11.C_GetAttributeValue(objectSession, handle, attributes);
            } catch (Exception e) {
                destroyUnderLock(handle);
                throw e;
            }
            if (!attributes[0].getBoolean() || attributes[1].getBoolean() || attributes[2].getBoolean()) {
                // Never expected (PKCS#11 forbids relaxing these on a copy), so never worked around.
                destroyUnderLock(handle);
                LOG.warn("a session copy of key {} was not sensitive, non-extractable and non-token; destroyed it", label);
                throw new HsmException(Reason.KEY_USAGE, "copy key");
            }
            return new Copy(handle, tokenKey, now);
        }
    }

    private static CK_ATTRIBUTE[] safetyAttributes() {
        return new CK_ATTRIBUTE[] {
            new CK_ATTRIBUTE(CKA_SENSITIVE), new CK_ATTRIBUTE(CKA_EXTRACTABLE), new CK_ATTRIBUTE(CKA_TOKEN)
        };
    }

    /**
     * Under the object-session lock: the handle of the token secret key with this label, or 0. A label
     * missing from the index lists the token again; callers reach here only for labels SunPkcs11Hsm has
     * already resolved (or is destroying), so a miss is rare, not a stream of bad labels.
     */
    private long tokenKey(String label) throws PKCS11Exception {
        long handle = handleOf(label);
        if (handle != 0) {
            return handle;
        }
        listTokenKeys();
        return handleOf(label);
    }

    /**
     * One listing of the token's secret keys into the handle index; returns the labels seen. In a session of its
     * own, not under the object-session lock: it reads every object (seconds with 100,000 keys on SoftHSM), and
     * copies and rechecks must not wait that long.
     *
     * <p>The label is read only for handles the index does not hold yet. With 100,000 keys reading every label
     * took 59 % of the reconciler's run, about 0.1 ms an object on SoftHSM (which checks the object's file on
     * each read), up to 27 s of CPU every 10 minutes (docs/benchmarks.md). A handle the index holds names the
     * object it was remembered for as long as the token keeps returning it, and this service never changes a
     * label: the same two facts the recheck and the destroy by known handle rest on.
     */
    java.util.Set<String> listTokenKeys() throws PKCS11Exception {
        tokenListings.incrementAndGet();
        // Taken before the search: an entry remembered since then is read from the token like any other.
        java.util.Map<Long, String> labelOf = new java.util.HashMap<>();
        known.forEach((label, k) -> {
            if (k.tokenHandle() != 0) {
                labelOf.put(k.tokenHandle(), label);
            }
        });
        long session = takeSession();
        boolean clean = false;
        java.util.Set<String> labels = new java.util.HashSet<>();
        try {
            p11.C_FindObjectsInit(session, new CK_ATTRIBUTE[] {
                new CK_ATTRIBUTE(CKA_CLASS, CKO_SECRET_KEY), new CK_ATTRIBUTE(CKA_TOKEN, true)
            });
            List<Long> handles = new ArrayList<>();
            try {
                for (long[] found; (found = p11.C_FindObjects(session, 1024)).length > 0; ) {
                    for (long handle : found) {
                        handles.add(handle);
                    }
                }
            } finally {
                p11.C_FindObjectsFinal(session);
            }
            for (long handle : handles) {
                String indexed = labelOf.get(handle);
                if (indexed != null) {
                    labels.add(indexed);
                    continue;
                }
                labelReads.incrementAndGet();
                CK_ATTRIBUTE[] name = {new CK_ATTRIBUTE(CKA_LABEL)};
                try {
                    p11.C_GetAttributeValue(session, handle, name);
                } catch (PKCS11Exception gone) {
                    continue; // destroyed by another process since the find
                }
                char[] chars = name[0].getCharArray();
                if (chars != null) {
                    String label = new String(chars);
                    rememberHandle(label, handle);
                    labels.add(label);
                }
            }
            clean = true;
        } finally {
            release(session, clean);
        }
        return labels;
    }

    /**
     * Under the object-session lock: the handle of the token key under this label if it still exists, else 0.
     * Usually one attribute read on the known handle (SoftHSM checks the object's file on every access and
     * answers CKR_OBJECT_HANDLE_INVALID once it is gone). That answer is confirmed by a search for the label
     * before it counts: a key reported missing is marked unavailable, and while another process changes the
     * token SoftHSM can miss an existing object for a moment (seen in the KeyStore lookup, SunPkcs11Hsm.handle).
     */
    private long tokenObjectExists(String label, long tokenHandle) throws PKCS11Exception, InterruptedException {
        try {
            p11.C_GetAttributeValue(objectSession, tokenHandle, new CK_ATTRIBUTE[] {new CK_ATTRIBUTE(CKA_CLASS)});
            return tokenHandle;
        } catch (PKCS11Exception e) {
            if (e.getErrorCode() != CKR_OBJECT_HANDLE_INVALID) {
                throw e;
            }
        }
        return confirmedByLabel(label);
    }

    /**
     * Under the object-session lock: a search for the label (every object file is checked), remembered. A miss
     * is searched again twice, 50 ms apart, before it counts: while another process changes the token, SoftHSM
     * can miss an object for a moment, and a key reported missing is marked unavailable. Only a key that is
     * really gone pays the 100 ms.
     */
    private long confirmedByLabel(String label) throws PKCS11Exception, InterruptedException {
        long found = 0;
        for (int attempt = 0; attempt < 3 && found == 0; attempt++) {
            if (attempt > 0) {
                Thread.sleep(50);
            }
            p11.C_FindObjectsInit(objectSession, new CK_ATTRIBUTE[] {
                new CK_ATTRIBUTE(CKA_CLASS, CKO_SECRET_KEY), new CK_ATTRIBUTE(CKA_TOKEN, true), new CK_ATTRIBUTE(CKA_LABEL, label)
            });
            try {
                long[] handles = p11.C_FindObjects(objectSession, 2);
                found = handles.length == 0 ? 0 : handles[0];
            } finally {
                p11.C_FindObjectsFinal(objectSession);
            }
        }
        if (found == 0) {
            forgetHandle(label);
        } else {
            rememberHandle(label, found);
        }
        return found;
    }

    private void destroy(Copy copy) {
        synchronized (objectSessionLock) {
            destroyUnderLock(copy.handle);
        }
    }

    private void destroyUnderLock(long handle) {
        try {
            p11.C_DestroyObject(objectSession, handle);
        } catch (PKCS11Exception e) {
            // Already gone with its session, or the token is; the copy is unusable either way.
            LOG.debug("destroying a session key copy failed: {}", e.getMessage());
        }
    }

    private long takeSession() throws PKCS11Exception {
        Long idle = idleSessions.poll();
        if (idle != null) {
            return idle;
        }
        sessionsOpened.incrementAndGet();
        return p11.C_OpenSession(slot, CKF_SERIAL_SESSION, null, null);
    }

    /** Sessions opened so far (tests: a failed tag check does not cost one). */
    long sessionsOpened() {
        return sessionsOpened.get();
    }

    /**
     * Pools a session whose operation ended: normally, or by a failed tag check. After any other failure
     * the operation state is not worth reasoning about (PKCS#11 keeps some operations active on some
     * errors), so the session is closed instead; those failures are rare.
     */
    private void release(long session, boolean clean) {
        if (!clean || closed || !idleSessions.offer(session)) {
            closeQuietly(session);
        }
    }

    private void closeQuietly(long session) {
        try {
            p11.C_CloseSession(session);
        } catch (PKCS11Exception e) {
            LOG.debug("closing a PKCS#11 session failed: {}", e.getMessage());
        }
    }
}
