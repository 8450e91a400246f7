package io.hsmkms.server.core;

import io.hsmkms.server.store.KeyRepository;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts encryptions per backing version in memory (cheap on the hot path) and adds them to the
 * store's totals on {@link #flush}, which the server runs every few seconds and at shutdown. A
 * crash loses at most the counts since the last flush, which is why the rotation bound sits far
 * below 2^32.
 */
public final class EncryptionCounter {
    /** One backing version of one key. */
    public record VersionId(UUID keyId, int version) {}

    private final ConcurrentHashMap<VersionId, LongAdder> pending = new ConcurrentHashMap<>();
    private final KeyRepository repository;

    public EncryptionCounter(KeyRepository repository) {
        this.repository = repository;
    }

    void record(UUID keyId, int version) {
        pending.computeIfAbsent(new VersionId(keyId, version), v -> new LongAdder()).increment();
    }

    /** Adds the counts gathered since the last flush to the store. */
    public synchronized void flush() {
        Map<VersionId, Long> counts = new HashMap<>();
        pending.forEach((version, adder) -> {
            long n = adder.sumThenReset();
            if (n > 0) {
                counts.put(version, n);
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
