package io.hsmkms.bench;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Keeps exactly {@code inFlight} operations outstanding: each completion starts the next one, so
 * the offered load adapts to what the system under test can do (closed loop, no coordinated
 * omission from a fixed-rate schedule). Latency is measured per operation from its start.
 */
final class ClosedLoop {

    /** One asynchronous operation; it must call {@code done} exactly once, with null or the failure. */
    interface Operation {
        void start(Consumer<Throwable> done);
    }

    /** What one measured period produced. */
    record Result(long operations, long errors, double seconds, long[] sortedLatencyNanos) {
        double opsPerSecond() {
            return operations / seconds;
        }

        double percentileMillis(double p) {
            if (sortedLatencyNanos.length == 0) {
                return Double.NaN;
            }
            int index = (int) Math.min(sortedLatencyNanos.length - 1, Math.ceil(p / 100 * sortedLatencyNanos.length) - 1);
            return sortedLatencyNanos[Math.max(0, index)] / 1e6;
        }

        double maxMillis() {
            return sortedLatencyNanos.length == 0 ? Double.NaN : sortedLatencyNanos[sortedLatencyNanos.length - 1] / 1e6;
        }
    }

    /** One synchronous operation; throws on failure. */
    interface BlockingOperation {
        void run() throws Exception;
    }

    private ClosedLoop() {}

    /** The same measurement for code that blocks: {@code threads} threads, one operation each at a time. */
    static Result runBlocking(BlockingOperation operation, int threads, double warmupSeconds, double seconds)
            throws InterruptedException {
        long start = System.nanoTime();
        long measureFrom = start + (long) (warmupSeconds * 1e9);
        long end = measureFrom + (long) (seconds * 1e9);
        Recorder recorder = new Recorder(measureFrom, end);
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = Thread.ofPlatform().name("baseline-" + t).start(() -> {
                for (long started = System.nanoTime(); started < end; started = System.nanoTime()) {
                    boolean failed = false;
                    try {
                        operation.run();
                    } catch (Exception e) {
                        failed = true;
                    }
                    recorder.record(started, System.nanoTime(), failed);
                }
            });
        }
        for (Thread worker : workers) {
            worker.join();
        }
        return recorder.result(seconds);
    }

    static Result run(Operation operation, int inFlight, double warmupSeconds, double seconds) throws InterruptedException {
        long start = System.nanoTime();
        long measureFrom = start + (long) (warmupSeconds * 1e9);
        long end = measureFrom + (long) (seconds * 1e9);
        Recorder recorder = new Recorder(measureFrom, end);
        CountDownLatch finished = new CountDownLatch(inFlight);
        for (int i = 0; i < inFlight; i++) {
            next(operation, recorder, end, finished);
        }
        if (!finished.await((long) (warmupSeconds + seconds + 60), TimeUnit.SECONDS)) {
            throw new IllegalStateException("operations did not finish within a minute of the deadline");
        }
        return recorder.result(seconds);
    }

    private static void next(Operation operation, Recorder recorder, long end, CountDownLatch finished) {
        long started = System.nanoTime();
        if (started >= end) {
            finished.countDown();
            return;
        }
        operation.start(failure -> {
            recorder.record(started, System.nanoTime(), failure != null);
            next(operation, recorder, end, finished);
        });
    }

    /** Latencies of operations that started inside the measured window. */
    private static final class Recorder {
        private final long from;
        private final long to;
        private final AtomicLong errors = new AtomicLong();
        private long[] samples = new long[1 << 16];
        private int count;

        Recorder(long from, long to) {
            this.from = from;
            this.to = to;
        }

        void record(long started, long ended, boolean failed) {
            if (started < from || started >= to) {
                return;
            }
            if (failed) {
                errors.incrementAndGet();
                return;
            }
            synchronized (this) {
                if (count == samples.length) {
                    samples = Arrays.copyOf(samples, count * 2);
                }
                samples[count++] = ended - started;
            }
        }

        synchronized Result result(double seconds) {
            long[] sorted = Arrays.copyOf(samples, count);
            Arrays.sort(sorted);
            return new Result(count, errors.get(), seconds, sorted);
        }
    }
}
