package io.hsmkms.server.store;

import io.hsmkms.server.core.Alias;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Aliases by account and name, as a call that names its key by alias resolves it: an H2 query on every such call
 * otherwise. An alias that does not exist is kept as such too, so a wrong name costs no query after the first.
 *
 * <p>Exact for one writer process ({@link CachingMetadataStore}'s exclusive mode): every alias write, and every key
 * deletion (which takes the key's aliases with it), passes {@link #changed} after the database, which drops the entry
 * (or all of them) and moves the generation on; a load stores what it read only if no change came in between, so a
 * read that raced a write cannot put back the old alias. Changes take one lock; reads take none. Bounded by a count
 * of entries (an alias is ~200 bytes).
 */
final class AliasCache {
    static final int DEFAULT_MAX_ENTRIES = 16_384;

    private record Name(String accountId, String name) { }

    private final int maxEntries;
    private final ConcurrentHashMap<Name, Optional<Alias>> entries = new ConcurrentHashMap<>();
    private final Object changes = new Object();
    private long generation;

    AliasCache(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    /** The cached answer (an empty Optional: no such alias), or null when not cached. */
    Optional<Alias> get(String accountId, String name) {
        return entries.get(new Name(accountId, name));
    }

    /** Taken before a load reads the database; pass it to {@link #put}. */
    long generation() {
        synchronized (changes) {
            return generation;
        }
    }

    /** Keeps what a load read, unless an alias changed since {@code readAt}. Returns {@code alias}. */
    Optional<Alias> put(String accountId, String name, Optional<Alias> alias, long readAt) {
        synchronized (changes) {
            if (generation == readAt) {
                Name key = new Name(accountId, name);
                Iterator<Name> others = entries.keySet().iterator();
                // Any other entry will do, as in the key cache: a dropped alias is one query away.
                while (entries.size() >= maxEntries && others.hasNext()) {
                    if (!others.next().equals(key)) {
                        others.remove();
                    }
                }
                entries.put(key, alias);
            }
        }
        return alias;
    }

    /** After the database: one alias changed ({@code name} not null) or any may have (a key was deleted). */
    void changed(String accountId, String name) {
        synchronized (changes) {
            generation++;
            if (name == null) {
                entries.clear();
            } else {
                entries.remove(new Name(accountId, name));
            }
        }
    }

    /** Entries cached (tests). */
    int size() {
        return entries.size();
    }
}
