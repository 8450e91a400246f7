package io.hsmkms.client.envelope;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Reuses a data key across messages within the {@link CachePolicy}'s limits, like the AWS Encryption
 * SDK's caching materials manager. Messages of unknown length bypass the cache (the byte limit could
 * not be honoured), as do messages longer than the byte limit on their own.
 *
 * <p>The cache owns its keys and zeroes them on eviction; callers get copies that they zero.
 */
final class CachingDataKeySource implements DataKeySource, AutoCloseable {
    private final DataKeySource source;
    private final CachePolicy policy;
    private final LongSupplier nanoClock;
    private final LinkedHashMap<CacheKey, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    /** Fetches under way, guarded by {@code entries}' lock. */
    private final Map<CacheKey, CompletableFuture<Void>> inFlight = new HashMap<>();

    CachingDataKeySource(DataKeySource source, CachePolicy policy, LongSupplier nanoClock) {
        this.source = source;
        this.policy = policy;
        this.nanoClock = nanoClock;
    }

    private record CacheKey(String keyId, SortedMap<String, String> context) {}

    private static final class Entry {
        final DataKey key;
        final long createdNanos;
        long messages;
        long bytes;

        Entry(DataKey key, long createdNanos) {
            this.key = key;
            this.createdNanos = createdNanos;
        }
    }

    @Override
    public DataKey dataKeyFor(String keyId, SortedMap<String, String> context, long plaintextLength) {
        if (plaintextLength < 0 || plaintextLength > policy.maxBytes()) {
            return source.dataKeyFor(keyId, context, plaintextLength);
        }
        CacheKey cacheKey = new CacheKey(keyId, context);
        while (true) {
            CompletableFuture<Void> pending;
            boolean fetchHere = false;
            synchronized (entries) {
                DataKey hit = use(cacheKey, plaintextLength);
                if (hit != null) {
                    return hit;
                }
                // One GenerateDataKey per miss, not one per thread that missed at the same time.
                pending = inFlight.get(cacheKey);
                if (pending == null) {
                    pending = new CompletableFuture<>();
                    inFlight.put(cacheKey, pending);
                    fetchHere = true;
                }
            }
            if (!fetchHere) {
                // Another thread is fetching: wait, then look again (and fetch ourselves if it failed).
                pending.exceptionally(failure -> null).join();
                continue;
            }
            // The service call happens outside the lock so one slow call does not stall other keys' hits.
            DataKey fresh;
            try {
                fresh = source.dataKeyFor(keyId, context, plaintextLength);
            } catch (RuntimeException e) {
                synchronized (entries) {
                    inFlight.remove(cacheKey);
                }
                pending.completeExceptionally(e);
                throw e;
            }
            try {
                synchronized (entries) {
                    evict(entries.remove(cacheKey));
                    Entry entry = new Entry(fresh, nanoClock.getAsLong());
                    entries.put(cacheKey, entry);
                    while (entries.size() > policy.maxEntries()) {
                        Iterator<Map.Entry<CacheKey, Entry>> eldest = entries.entrySet().iterator();
                        evict(eldest.next().getValue());
                        eldest.remove();
                    }
                    inFlight.remove(cacheKey);
                    return charge(cacheKey, entry, plaintextLength);
                }
            } finally {
                pending.complete(null);
            }
        }
    }

    /** A copy of a live entry's key charged with this message, or null when there is none within limits. */
    private DataKey use(CacheKey cacheKey, long plaintextLength) {
        Entry entry = entries.get(cacheKey);
        if (entry == null) {
            return null;
        }
        boolean expired = nanoClock.getAsLong() - entry.createdNanos >= policy.maxAge().toNanos();
        if (expired || entry.messages + 1 > policy.maxMessages() || entry.bytes + plaintextLength > policy.maxBytes()) {
            entries.remove(cacheKey);
            evict(entry);
            return null;
        }
        return charge(cacheKey, entry, plaintextLength);
    }

    private DataKey charge(CacheKey cacheKey, Entry entry, long plaintextLength) {
        entry.messages++;
        entry.bytes += plaintextLength;
        DataKey copy = entry.key.copy();
        // Spent: drop it now rather than hold a key that can never be used again.
        if (entry.messages >= policy.maxMessages() || entry.bytes >= policy.maxBytes()) {
            entries.remove(cacheKey);
            evict(entry);
        }
        return copy;
    }

    private static void evict(Entry entry) {
        if (entry != null) {
            entry.key.close();
        }
    }

    /** Keys held now (for tests and metrics). */
    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    @Override
    public void close() {
        synchronized (entries) {
            entries.values().forEach(CachingDataKeySource::evict);
            entries.clear();
        }
    }
}
