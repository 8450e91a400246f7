package io.hsmkms.server.store;

import io.hsmkms.server.core.Alias;
import io.hsmkms.server.core.EncryptionCounter;
import io.hsmkms.server.core.Grant;
import io.hsmkms.server.core.KeyState;
import io.hsmkms.server.core.KeyVersion;
import io.hsmkms.server.core.ManagedKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keeps keys read by id in memory, because every data-plane call reads its key (row, versions, tags) and the
 * metadata store was a fifth of the server's CPU per call. A key's stored form is fully named by its id and its
 * revision: every change to the row, its versions or its tags goes through {@link #update} and raises the revision.
 *
 * <p>How a cached key is trusted depends on who else writes the database:
 * <ul>
 * <li>{@link Sharing#EXCLUSIVE}: this process is the database's only user (the embedded H2 file is locked by
 * the process that opens it). Every change passes through this object, which replaces the entry with what it
 * stored; reads of a cached key do not touch the database.
 * <li>{@link Sharing#SHARED}: other nodes write the same database. Each read asks the database for the key's
 * revision (one indexed single-row query instead of three) and reloads when it moved, so a change made on
 * another node applies to the next call here, as without the cache.
 * </ul>
 * In the exclusive mode a key's grants for a grantee ({@link GrantCache}) and aliases ({@link AliasCache}) are kept
 * too: this node's grant and alias writes drop what they change, as its key writes replace the key. The shared mode
 * reads grants and aliases from the database on every call (another node's revoke or alias change must apply to the
 * next call here, and neither carries a revision to check). The caches are bounded by estimates of their size.
 */
public final class CachingMetadataStore implements MetadataStore {
    /** Who else writes the database. */
    public enum Sharing { EXCLUSIVE, SHARED }

    /**
     * Default bound: about 64 MiB of cached keys, some 136,000 keys with one version and a shared policy (plus
     * the shared texts, {@link #MAX_SHARED_TEXT_CHARS}).
     */
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    /** Account ids and policy texts kept once for all cached keys that carry them, in characters; beyond it a key keeps its own. */
    static final long MAX_SHARED_TEXT_CHARS = 4L << 20;

    private final MetadataStore store;
    private final io.hsmkms.hsm.TokenWriteLock tokenWriteLock;
    private final Sharing sharing;
    private final long maxBytes;
    private final ConcurrentHashMap<UUID, ManagedKey> keys = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    /**
     * A key's loads and this node's writes of it take the key's stripe, so a load can never put back what a
     * write has just replaced (both read or write the database and then the entry as one step). Cached reads
     * take no lock.
     */
    private final Object[] stripes = new Object[64];
    /**
     * One String per distinct account id and policy text: most keys carry one of a few policies (an account's
     * default policy is the same text for all its keys), and each key's own copy was about a third of its cached
     * size; a node serves one account or a few. Texts stay until the cache closes; an entry's weight leaves out a
     * shared policy.
     */
    private final ConcurrentHashMap<String, String> sharedTexts = new ConcurrentHashMap<>();
    private final AtomicLong sharedTextChars = new AtomicLong();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final GrantCache grants = new GrantCache(GrantCache.DEFAULT_MAX_WEIGHT);
    private final AliasCache aliases = new AliasCache(AliasCache.DEFAULT_MAX_ENTRIES);

    public CachingMetadataStore(MetadataStore store, Sharing sharing, long maxBytes) {
        this(store, sharing, maxBytes, io.hsmkms.hsm.TokenWriteLock.NONE);
    }

    private CachingMetadataStore(MetadataStore store, Sharing sharing, long maxBytes,
                                 io.hsmkms.hsm.TokenWriteLock tokenWriteLock) {
        this.tokenWriteLock = tokenWriteLock;
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must not be negative");
        }
        this.store = store;
        this.sharing = sharing;
        this.maxBytes = maxBytes;
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new Object();
        }
    }

    /** The embedded H2 store in {@code dataDir}: this process holds its file lock, so the cache is exclusive. */
    public static CachingMetadataStore embedded(java.nio.file.Path dataDir) {
        JdbcKeyRepository repository = JdbcKeyRepository.embedded(dataDir);
        return new CachingMetadataStore(repository, Sharing.EXCLUSIVE, DEFAULT_MAX_BYTES, repository.tokenWriteLock());
    }

    /** A PostgreSQL store that other nodes may share: every cached read is checked against the stored revision. */
    public static CachingMetadataStore postgres(ExternalDatabase database) {
        JdbcKeyRepository repository = JdbcKeyRepository.postgres(database);
        return new CachingMetadataStore(repository, Sharing.SHARED, DEFAULT_MAX_BYTES, repository.tokenWriteLock());
    }

    /** The lock the nodes sharing this store take for token writes ({@link JdbcKeyRepository#tokenWriteLock}). */
    public io.hsmkms.hsm.TokenWriteLock tokenWriteLock() {
        return tokenWriteLock;
    }

    @Override
    public Optional<ManagedKey> find(UUID id) {
        ManagedKey cached = keys.get(id);
        if (cached != null && (sharing == Sharing.EXCLUSIVE || store.revision(id).equals(OptionalLong.of(cached.revision())))) {
            hits.increment();
            return Optional.of(cached);
        }
        misses.increment();
        synchronized (stripe(id)) {
            Optional<ManagedKey> loaded = store.find(id);
            if (loaded.isEmpty()) {
                remove(id);
            }
            return loaded.map(this::put);
        }
    }

    /** Cached reads answered without loading the key (for metrics and tests). */
    public long hits() {
        return hits.sum();
    }

    /** Reads that loaded the key from the database. */
    public long misses() {
        return misses.sum();
    }

    /** The estimated size of what is cached now (see {@link #weight}). */
    long cachedBytes() {
        return bytes.get();
    }

    private Object stripe(UUID id) {
        return stripes[Math.floorMod(id.hashCode(), stripes.length)];
    }

    /** Under the key's stripe. Returns the key as cached (with the shared texts). */
    private ManagedKey put(ManagedKey loaded) {
        ManagedKey key = withSharedTexts(loaded);
        long weight = weight(key);
        if (weight > maxBytes) {
            remove(key.id());
            return key;
        }
        ManagedKey old = keys.put(key.id(), key);
        bytes.addAndGet(weight - (old == null ? 0 : weight(old)));
        // Any entry will do: the map's order is unrelated to use, and a dropped key is one load away. Entries
        // of other stripes are removed only if unchanged, so a concurrent put of theirs is never lost track of.
        var entries = keys.entrySet().iterator();
        while (bytes.get() > maxBytes && entries.hasNext()) {
            var entry = entries.next();
            if (!entry.getKey().equals(key.id()) && keys.remove(entry.getKey(), entry.getValue())) {
                bytes.addAndGet(-weight(entry.getValue()));
            }
        }
        return key;
    }

    /** Under the key's stripe. */
    private void remove(UUID id) {
        ManagedKey old = keys.remove(id);
        if (old != null) {
            bytes.addAndGet(-weight(old));
        }
    }

    /** The key with the shared Strings of its account id and policy text, sharing them first if there is room. */
    private ManagedKey withSharedTexts(ManagedKey key) {
        String accountId = shared(key.accountId());
        String policy = shared(key.policy());
        return accountId == key.accountId() && policy == key.policy() ? key : key.withSharedTexts(accountId, policy);
    }

    /** The one String kept for this text, or the text itself when the shared texts are full. */
    private String shared(String text) {
        String shared = sharedTexts.get(text);
        if (shared == null) {
            if (sharedTextChars.get() + text.length() > MAX_SHARED_TEXT_CHARS) {
                return text;
            }
            shared = sharedTexts.computeIfAbsent(text, t -> {
                sharedTextChars.addAndGet(t.length());
                return t;
            });
        }
        return shared;
    }

    /** Texts shared so far, in characters (tests). */
    long sharedTextChars() {
        return sharedTextChars.get();
    }

    /**
     * A rough size in bytes: object overhead plus the strings that vary (its own policy, tags, labels). Measured:
     * a key with one version and the default policy shared took 464 and 501 bytes of heap (two runs, 20,000 keys
     * loaded from H2); this says 493. Measured before keys shared their account id and common settings (656b0da;
     * with adbf39b the live heap at 100,000 keys fell by 11 MB); the estimate was left as it was, so the bound errs
     * on the small side.
     */
    private long weight(ManagedKey key) {
        boolean shared = key.policy() != null && sharedTexts.get(key.policy()) == key.policy();
        return weight(key, shared);
    }

    static long weight(ManagedKey key, boolean policyShared) {
        long size = 288 + (key.policy() == null || policyShared ? 0 : key.policy().length())
                + (key.description() == null ? 0 : key.description().length());
        for (Map.Entry<String, String> tag : key.tags().entrySet()) {
            size += 96 + tag.getKey().length() + tag.getValue().length();
        }
        for (KeyVersion version : key.versions()) {
            size += 160 + version.hsmLabel().length();
        }
        return size;
    }

    // This node's writes: the database, then the entry becomes what was stored (or goes, when the write failed
    // and the stored state is unknown here), under the key's stripe.

    @Override
    public ManagedKey insert(ManagedKey key) {
        return writeThrough(key.id(), () -> store.insert(key));
    }

    @Override
    public ManagedKey update(ManagedKey changed) {
        return writeThrough(changed.id(), () -> store.update(changed));
    }

    private ManagedKey writeThrough(UUID id, java.util.function.Supplier<ManagedKey> write) {
        synchronized (stripe(id)) {
            try {
                return put(write.get());
            } catch (RuntimeException e) {
                remove(id);
                throw e;
            }
        }
    }

    @Override
    public void deleteKey(UUID id) {
        synchronized (stripe(id)) {
            try {
                store.deleteKey(id);
            } finally {
                remove(id);
                grants.forget(id);
                aliases.changed(null, null);
            }
        }
    }

    // Everything else is read or written as it is.

    @Override
    public OptionalLong revision(UUID id) {
        return store.revision(id);
    }

    @Override
    public Page list(String accountId, int limit, UUID after) {
        return store.list(accountId, limit, after);
    }

    @Override
    public Map<KeyState, Long> countByState() {
        return store.countByState();
    }

    @Override
    public List<ManagedKey> dueForDeletion(Instant now, int limit) {
        return store.dueForDeletion(now, limit);
    }

    @Override
    public LabelPage versionLabels(UUID after, int limit) {
        return store.versionLabels(after, limit);
    }

    @Override
    public List<ManagedKey> dueForRotation(Instant now, int limit) {
        return store.dueForRotation(now, limit);
    }

    @Override
    public void addEncryptions(Map<EncryptionCounter.VersionId, Long> counts) {
        store.addEncryptions(counts);
    }

    @Override
    public List<ManagedKey> overEncryptionBound(long bound, int limit) {
        return store.overEncryptionBound(bound, limit);
    }

    @Override
    public List<ManagedKey> importedMaterialExpired(Instant now, int limit) {
        return store.importedMaterialExpired(now, limit);
    }

    @Override
    public void insertGrant(Grant grant, int maxPerKey) {
        synchronized (stripe(grant.keyId())) {
            try {
                store.insertGrant(grant, maxPerKey);
            } finally {
                grants.forget(grant.keyId());
            }
        }
    }

    @Override
    public List<Grant> forKey(UUID keyId) {
        return store.forKey(keyId);
    }

    @Override
    public List<Grant> forGrantee(UUID keyId, String granteePrincipal) {
        if (sharing == Sharing.SHARED) {
            return store.forGrantee(keyId, granteePrincipal);
        }
        List<Grant> cached = grants.get(keyId, granteePrincipal);
        if (cached != null) {
            return cached;
        }
        synchronized (stripe(keyId)) {
            cached = grants.get(keyId, granteePrincipal);
            return cached != null ? cached : grants.put(keyId, granteePrincipal, store.forGrantee(keyId, granteePrincipal));
        }
    }

    @Override
    public List<Grant> retirableBy(String retiringPrincipal) {
        return store.retirableBy(retiringPrincipal);
    }

    @Override
    public Optional<Grant> find(UUID keyId, String grantId) {
        return store.find(keyId, grantId);
    }

    @Override
    public boolean deleteGrant(UUID keyId, String grantId) {
        synchronized (stripe(keyId)) {
            try {
                return store.deleteGrant(keyId, grantId);
            } finally {
                grants.forget(keyId);
            }
        }
    }

    @Override
    public boolean insertAlias(Alias alias) {
        try {
            return store.insertAlias(alias);
        } finally {
            aliases.changed(alias.accountId(), alias.name());
        }
    }

    @Override
    public Optional<Alias> findAlias(String accountId, String name) {
        if (sharing == Sharing.SHARED) {
            return store.findAlias(accountId, name);
        }
        Optional<Alias> cached = aliases.get(accountId, name);
        if (cached != null) {
            return cached;
        }
        long readAt = aliases.generation();
        return aliases.put(accountId, name, store.findAlias(accountId, name), readAt);
    }

    @Override
    public boolean retargetAlias(String accountId, String name, UUID keyId, Instant now) {
        try {
            return store.retargetAlias(accountId, name, keyId, now);
        } finally {
            aliases.changed(accountId, name);
        }
    }

    @Override
    public boolean deleteAlias(String accountId, String name) {
        try {
            return store.deleteAlias(accountId, name);
        } finally {
            aliases.changed(accountId, name);
        }
    }

    @Override
    public List<Alias> listAliases(String accountId, UUID keyId, String afterName, int limit) {
        return store.listAliases(accountId, keyId, afterName, limit);
    }

    @Override
    public void close() {
        keys.clear();
        grants.clear();
        aliases.changed(null, null);
        store.close();
    }
}
