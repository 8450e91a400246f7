package io.hsmkms.hsm.pkcs11;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.hsm.HsmException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The pool's bookkeeping, with a counting stand-in for the token's RNG (pure logic: the pool on the real
 * token is in SunPkcs11HsmTest). The stand-in fills each block with a running counter, so any byte handed
 * out twice, or any zero from an unfilled or wiped block, shows as a repeated or missing value.
 */
class RandomPoolTest {
    /** Fills blocks with consecutive 4-byte big-endian numbers, continuing across blocks. */
    private static final class CountingSource implements java.util.function.Consumer<byte[]> {
        int next = 1;
        int calls;
        final List<byte[]> blocks = new ArrayList<>();
        /** What each block held when the token was asked to fill it. */
        final List<byte[]> before = new ArrayList<>();

        @Override
        public void accept(byte[] block) {
            calls++;
            blocks.add(block);
            before.add(block.clone());
            for (int i = 0; i < block.length; i += 4) {
                int v = next++;
                block[i] = (byte) (v >>> 24);
                block[i + 1] = (byte) (v >>> 16);
                block[i + 2] = (byte) (v >>> 8);
                block[i + 3] = (byte) v;
            }
        }
    }

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void oneTokenCallServesABlock_andEveryByteLeavesOnce() {
        CountingSource token = new CountingSource();
        RandomPool pool = new RandomPool(token, now::get, TimeUnit.SECONDS.toNanos(1));
        ByteArrayOutputStream handedOut = new ByteArrayOutputStream();

        for (int i = 0; i < RandomPool.BLOCK_BYTES / 16; i++) {
            handedOut.writeBytes(pool.take(16));
        }

        assertThat(token.calls).isEqualTo(1);
        assertThat(pool.refills()).isEqualTo(1);
        byte[] all = handedOut.toByteArray();
        assertThat(all).hasSize(RandomPool.BLOCK_BYTES);
        for (int i = 0; i < all.length; i += 4) {
            int v = ((all[i] & 0xff) << 24) | ((all[i + 1] & 0xff) << 16) | ((all[i + 2] & 0xff) << 8) | (all[i + 3] & 0xff);
            assertThat(v).as("value at byte %d", i).isEqualTo(i / 4 + 1);
        }
        // The next request needs a new block rather than reusing the old one.
        assertThat(pool.take(12)).containsExactly(0, 0, 4, 1, 0, 0, 4, 2, 0, 0, 4, 3);
        assertThat(token.calls).isEqualTo(2);
    }

    @Test
    void bytesLeaveTheBlockWhenHandedOut() {
        CountingSource token = new CountingSource();
        RandomPool pool = new RandomPool(token, now::get, TimeUnit.SECONDS.toNanos(1));

        byte[] first = pool.take(12);

        byte[] block = token.blocks.getFirst();
        assertThat(first).containsExactly(0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3);
        assertThat(java.util.Arrays.copyOfRange(block, 0, 12)).containsOnly(0);
        assertThat(java.util.Arrays.copyOfRange(block, 12, 16)).containsExactly(0, 0, 0, 4);
    }

    @Test
    void aRequestThatDoesNotFitTheRest_takesANewBlock_neverARepeat() {
        CountingSource token = new CountingSource();
        RandomPool pool = new RandomPool(token, now::get, TimeUnit.SECONDS.toNanos(1));
        Set<String> seen = new HashSet<>();

        // 4096 = 128 * 32: the 129th 32-byte request cannot be served from what is left of a block whose
        // first request was 12 bytes, so it takes a second block.
        seen.add(java.util.HexFormat.of().formatHex(pool.take(12)));
        for (int i = 0; i < 127; i++) {
            assertThat(seen.add(java.util.HexFormat.of().formatHex(pool.take(32)))).isTrue();
        }
        assertThat(token.calls).isEqualTo(1);
        byte[] next = pool.take(32);

        assertThat(token.calls).isEqualTo(2);
        assertThat(next).startsWith(0, 0, 4, 1); // the new block's first value, not the 52 bytes left over
        assertThat(token.before.get(1)).containsOnly(0); // the 52 left-over bytes were wiped before the refill
    }

    @Test
    void aBlockOlderThanASecond_isWipedAndNotUsed() {
        CountingSource token = new CountingSource();
        RandomPool pool = new RandomPool(token, now::get, TimeUnit.SECONDS.toNanos(1));
        pool.take(12);

        now.addAndGet(RandomPool.MAX_AGE_NANOS); // exactly the age limit: still used
        assertThat(pool.take(4)).containsExactly(0, 0, 0, 4);
        now.addAndGet(1);
        byte[] late = pool.take(4);

        assertThat(token.calls).isEqualTo(2);
        assertThat(late).containsExactly(0, 0, 4, 1);
        assertThat(token.before.get(1)).containsOnly(0);
    }

    @Test
    void aFailedRefill_handsOutNothing_andTheNextRequestAsksTheTokenAgain() {
        CountingSource counting = new CountingSource();
        boolean[] failNext = {false};
        RandomPool pool = new RandomPool(block -> {
            if (failNext[0]) {
                failNext[0] = false;
                block[0] = 7; // half written, as a failing token call may leave it
                throw new HsmException(HsmException.Reason.DEVICE, "generate random");
            }
            counting.accept(block);
        }, now::get, TimeUnit.SECONDS.toNanos(1));
        for (int i = 0; i < 340; i++) {
            pool.take(12); // 16 bytes of the first block left
        }

        failNext[0] = true;
        assertThatThrownBy(() -> pool.take(32)).isInstanceOf(HsmException.class);
        byte[] after = pool.take(8); // would fit in the 16 left before the failed refill, had they been kept

        assertThat(counting.calls).isEqualTo(2);
        assertThat(after).containsExactly(0, 0, 4, 1, 0, 0, 4, 2);
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a lock without a time limit would hang here
    void aRefillStuckInTheToken_timesOutTheCallersBehindIt_asBusy() throws Exception {
        CountDownLatch inToken = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RandomPool pool = new RandomPool(block -> {
            inToken.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            block[0] = 1;
        }, System::nanoTime, TimeUnit.MILLISECONDS.toNanos(100));
        ExecutorService threads = Executors.newSingleThreadExecutor();
        try {
            Future<byte[]> stuck = threads.submit(() -> pool.take(12));
            assertThat(inToken.await(5, TimeUnit.SECONDS)).isTrue();

            assertThatThrownBy(() -> pool.take(12)).isInstanceOfSatisfying(HsmException.class,
                    e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.BUSY));
            release.countDown();
            assertThat(stuck.get(5, TimeUnit.SECONDS)).hasSize(12);
        } finally {
            release.countDown();
            threads.shutdownNow();
        }
    }

    @Test
    void requestsOutsideThePoolsRange_areRefused() {
        RandomPool pool = new RandomPool(new CountingSource(), now::get, TimeUnit.SECONDS.toNanos(1));

        assertThatThrownBy(() -> pool.take(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pool.take(RandomPool.MAX_REQUEST_BYTES + 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
