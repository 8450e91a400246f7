package io.hsmkms.client.envelope;

import java.time.Duration;

/**
 * Limits of the data key cache: a cached data key encrypts at most {@code maxMessages} messages and
 * {@code maxBytes} plaintext bytes, for at most {@code maxAge}, per (key id, encryption context).
 * {@code maxEntries} bounds how many keys are held at once (least recently used goes first).
 *
 * <p>Security: every message encrypted under one cache entry shares its data key, so whoever obtains
 * that one key (a heap dump, a memory-disclosure bug) reads all of them, and one Decrypt permission
 * check at the service covers them all. Keep the limits small; the cache is off unless asked for.
 */
public record CachePolicy(long maxMessages, long maxBytes, Duration maxAge, int maxEntries) {
    public CachePolicy {
        if (maxMessages < 1 || maxBytes < 1 || maxEntries < 1) {
            throw new IllegalArgumentException("cache limits must be positive");
        }
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("cache maxAge must be positive");
        }
    }

    /** The given limits and at most 100 entries. */
    public static CachePolicy of(long maxMessages, long maxBytes, Duration maxAge) {
        return new CachePolicy(maxMessages, maxBytes, maxAge, 100);
    }
}
