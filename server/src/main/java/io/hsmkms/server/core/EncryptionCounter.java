package io.hsmkms.server.core;

import io.hsmkms.server.store.KeyRepository;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts encryptions per backing version in memory (cheap on the hot path) and adds them to the store's
 * totals. {@link #flush}, which the server runs every few seconds and before each usage-rotation check,
 * writes only the versions whose count since their last write has reached 1/1024 of the rotation bound;
 * {@link #flushAll}, every hour and at shutdown, writes the rest. A flush of everything every few
 * seconds was one row update per key in use: with 100,000 keys busy, as many updates as requests.
 *
 * <p>What that costs: usage rotation can come late by the held-back count (under 0.1 % of the bound per
 * node), and a crash loses at most that plus a few seconds of counts per version. Both are why the rotation
 * bound sits far below 2^32 (ServerConfig).
 */
public final class EncryptionCounter {
    /** One backing version of one key. */
    public record VersionId(UUID keyId, int version) {}

    private final ConcurrentHashMap<VersionId, LongAdder> pending = new ConcurrentHashMap<>();
    private final KeyRepository repository;
    private final long threshold;

    /** @param maxEncryptionsPerVersion the usage-rotation bound; counts of at least 1/1024 of it are written by {@link #flush} */
    public EncryptionCounter(KeyRepository repository, long maxEncryptionsPerVersion) {
        this.repository = repository;
        this.threshold = Math.max(1, maxEncryptionsPerVersion / 1024);
    }

    void record(UUID keyId, int version) {
        pending.computeIfAbsent(new VersionId(keyId, version), v -> new LongAdder()).increment();
    }

    /** Adds the counts that have reached the threshold since they were last written to the store. */
    public synchronized void flush() {
        write(threshold);
    }

    /** Adds every count gathered since the last write to the store. */
    public synchronized void flushAll() {
        write(1);
    }

    private void write(long atLeast) {
        Map<VersionId, Long> counts = new HashMap<>();
        pending.forEach((version, adder) -> {
            if (adder.sum() >= atLeast) {
                long n = adder.sumThenReset();
                if (n > 0) {
                    counts.put(version, n);
                }
            }
        });
        if (!counts.isEmpty()) {
            try {
                repository.addEncryptions(counts);
            } catch (RuntimeException e) {
                // Put them back so the next flush tries again.
                counts.forEach((version, n) -> pending.computeIfAbsent(version, v -> new LongAdder()).add(n));
                throw e;
            }
        }
    }
}
