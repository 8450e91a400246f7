package io.hsmkms.hsm.pkcs11;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmException.Reason;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Small requests for random bytes (IVs, data keys) served from blocks the token's RNG fills
 * {@value #BLOCK_BYTES} bytes at a time. SoftHSM's C_GenerateRandom costs about as much for 4 KiB
 * as for 12 bytes (3.6-4.5 µs on one thread, over 6 µs each when two threads call it), and every
 * Encrypt needed one call for its IV, every GenerateDataKey two (docs/benchmarks.md).
 *
 * <p>Every byte is handed out once and wiped from the block as it leaves. A block older than
 * {@link #MAX_AGE_NANOS} is wiped and never used, so bytes that wait in memory (a quiet node) do
 * not become a key or IV later: at most a second's worth of future randomness is in the heap.
 */
final class RandomPool {
    static final int BLOCK_BYTES = 4096;
    /** Larger requests go to the token directly: a few of them would use up a block. */
    static final int MAX_REQUEST_BYTES = 64;
    static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Consumer<byte[]> token;
    private final LongSupplier nanoTime;
    private final long lockTimeoutNanos;
    /** Not a monitor: a token call that hangs while refilling must time out the callers behind it, as a permit would. */
    private final ReentrantLock lock = new ReentrantLock();
    private final byte[] block = new byte[BLOCK_BYTES];
    /** The first byte not handed out yet; {@link #BLOCK_BYTES} when the block is used up or was never filled. */
    private int next = BLOCK_BYTES;
    private long filledAt;
    private long refills;

    /** @param token fills an array from the token's RNG (and throws HsmException when it cannot) */
    RandomPool(Consumer<byte[]> token, LongSupplier nanoTime, long lockTimeoutNanos) {
        this.token = token;
        this.nanoTime = nanoTime;
        this.lockTimeoutNanos = lockTimeoutNanos;
    }

    byte[] take(int length) {
        if (length < 1 || length > MAX_REQUEST_BYTES) {
            throw new IllegalArgumentException("pooled random length must be 1.." + MAX_REQUEST_BYTES);
        }
        lock();
        try {
            long now = nanoTime.getAsLong();
            if (BLOCK_BYTES - next < length || now - filledAt > MAX_AGE_NANOS) {
                // Marked empty before the token is asked: a refill that fails half way hands out nothing.
                Arrays.fill(block, next, BLOCK_BYTES, (byte) 0);
                next = BLOCK_BYTES;
                token.accept(block);
                refills++;
                filledAt = now;
                next = 0;
            }
            byte[] bytes = Arrays.copyOfRange(block, next, next + length);
            Arrays.fill(block, next, next + length, (byte) 0);
            next += length;
            return bytes;
        } finally {
            lock.unlock();
        }
    }

    /** How many blocks the token has filled (tests: many IVs, few token calls). */
    long refills() {
        lock();
        try {
            return refills;
        } finally {
            lock.unlock();
        }
    }

    private void lock() {
        try {
            if (lock.tryLock(lockTimeoutNanos, TimeUnit.NANOSECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new HsmException(Reason.BUSY, "generate random");
    }
}
