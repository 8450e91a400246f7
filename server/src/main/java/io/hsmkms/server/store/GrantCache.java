package io.hsmkms.server.store;

import io.hsmkms.server.core.Grant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The grants on a key for one grantee, as a caller's authorization reads them when the key policy alone does not
 * allow the call. The read was an H2 query on every such call, about half of a grant-allowed caller's handler time
 * (JFR, 10,000 grants on the key or one alike). Empty answers are kept too, so a refused caller costs no query either.
 *
 * <p>The caller ({@link CachingMetadataStore}) makes it exact: a key's loads and grant writes hold that key's stripe,
 * so a load cannot put back what a write has just dropped. Changes to the map take one lock (they happen on misses
 * and grant writes only); reads take none. Bounded by a count of entries plus the grants they hold: an entry is a
 * few hundred bytes a grant, and a node that serves 100,000 keys has no room for a large second cache.
 */
final class GrantCache {
    /** About 8 MB at ~500 bytes a grant. */
    static final int DEFAULT_MAX_WEIGHT = 16_384;

    private final int maxWeight;
    private final ConcurrentHashMap<UUID, ConcurrentHashMap<String, List<Grant>>> byKey = new ConcurrentHashMap<>();
    private final Object changes = new Object();
    private int weight;

    GrantCache(int maxWeight) {
        this.maxWeight = maxWeight;
    }

    /** The cached grants, or null when this key and grantee are not cached. */
    List<Grant> get(UUID keyId, String grantee) {
        Map<String, List<Grant>> grantees = byKey.get(keyId);
        return grantees == null ? null : grantees.get(grantee);
    }

    /** Under the key's stripe, with what the database said. Returns the (immutable) list as cached. */
    List<Grant> put(UUID keyId, String grantee, List<Grant> grants) {
        List<Grant> copy = List.copyOf(grants);
        int entryWeight = weight(copy);
        if (entryWeight > maxWeight) {
            return copy;
        }
        synchronized (changes) {
            ConcurrentHashMap<String, List<Grant>> grantees = byKey.computeIfAbsent(keyId, id -> new ConcurrentHashMap<>());
            List<Grant> old = grantees.put(grantee, copy);
            weight += entryWeight - (old == null ? 0 : weight(old));
            // Any other key will do, as in the key cache: a dropped entry is one query away.
            Iterator<Map.Entry<UUID, ConcurrentHashMap<String, List<Grant>>>> keys = byKey.entrySet().iterator();
            while (weight > maxWeight && keys.hasNext()) {
                Map.Entry<UUID, ConcurrentHashMap<String, List<Grant>>> other = keys.next();
                if (!other.getKey().equals(keyId)) {
                    keys.remove();
                    weight -= weight(other.getValue());
                }
            }
        }
        return copy;
    }

    /** Under the key's stripe: drops everything cached for the key (its grants changed, or it is gone). */
    void forget(UUID keyId) {
        synchronized (changes) {
            ConcurrentHashMap<String, List<Grant>> grantees = byKey.remove(keyId);
            if (grantees != null) {
                weight -= weight(grantees);
            }
        }
    }

    void clear() {
        synchronized (changes) {
            byKey.clear();
            weight = 0;
        }
    }

    /** Entries plus the grants they hold (tests). */
    int weight() {
        synchronized (changes) {
            return weight;
        }
    }

    private static int weight(Map<String, List<Grant>> grantees) {
        int sum = 0;
        for (List<Grant> grants : grantees.values()) {
            sum += weight(grants);
        }
        return sum;
    }

    private static int weight(List<Grant> grants) {
        return 1 + grants.size();
    }
}
