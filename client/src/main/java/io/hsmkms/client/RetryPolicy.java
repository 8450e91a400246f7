package io.hsmkms.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How often and how patiently a failed call is retried. Only UNAVAILABLE and ThrottlingException are
 * retried: every other failure is an answer (denied, not found, invalid) that a retry cannot change.
 *
 * <p>Backoff is exponential with full jitter: before retry n (1-based) the client sleeps a uniformly
 * random time in [0, min(maxBackoff, initialBackoff * 2^(n-1))], so many clients that failed together
 * do not come back together.
 *
 * @param maxAttempts    total attempts including the first, >= 1 (1 disables retries)
 * @param initialBackoff the cap of the first sleep
 * @param maxBackoff     the cap of any sleep
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(100), Duration.ofSeconds(2));
    public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO);

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1");
        }
        if (initialBackoff.isNegative() || maxBackoff.isNegative()) {
            throw new IllegalArgumentException("backoff must not be negative");
        }
    }

    /** The sleep before retry {@code retry} (1 = the first retry). */
    Duration backoff(int retry) {
        long cap = maxBackoff.toNanos();
        long ceiling = cap;
        int doublings = retry - 1;
        // initialBackoff * 2^doublings, unless that passes the cap (or a long) first.
        if (doublings < 62 && initialBackoff.toNanos() <= (cap >> doublings)) {
            ceiling = initialBackoff.toNanos() << doublings;
        }
        return ceiling <= 0 ? Duration.ZERO : Duration.ofNanos(ThreadLocalRandom.current().nextLong(ceiling + 1));
    }
}
