package io.hsmkms.server.observability;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Log lines to standard error, the request log's lines in batches. Written one {@code write(2)} a
 * line, the request log cost about 5 % of the server's CPU at 16 calls in flight (docs/benchmarks.md).
 * Here the request logger's INFO lines wait in a buffer for at most {@code flushMillis} (default
 * 100); every other line (startup, warnings, errors, a failed release) is written at once, together
 * with the request lines before it, so the order holds and nothing an operator needs right before
 * a process dies is held back. Each write carries whole lines.
 */
public final class BatchingStderrAppender extends OutputStreamAppender<ILoggingEvent> {
    /** The request log's logger (RequestInterceptor): its INFO lines are the ones that wait. */
    public static final String REQUEST_LOGGER = "io.hsmkms.requests";
    private static final int BUFFER_BYTES = 64 * 1024;

    private OutputStream target = new FileOutputStream(FileDescriptor.err);
    private long flushMillis = 100;
    private ScheduledExecutorService flusher;
    /** Set once the JVM shuts down: from then on every line is written at once. */
    private volatile boolean exiting;

    /** How long a request line may wait in the buffer, in milliseconds (logback configuration). */
    public void setFlushMillis(long flushMillis) {
        if (flushMillis < 1) {
            throw new IllegalArgumentException("flushMillis must be at least 1");
        }
        this.flushMillis = flushMillis;
    }

    /** Another stream than standard error, for tests; before {@link #start()}. */
    void writeTo(OutputStream target) {
        this.target = target;
    }

    @Override
    public void start() {
        setImmediateFlush(false);
        setOutputStream(new BufferedOutputStream(new Unclosed(target), BUFFER_BYTES));
        super.start();
        flusher = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "log-flush");
            thread.setDaemon(true);
            return thread;
        });
        flusher.scheduleWithFixedDelay(this::flush, flushMillis, flushMillis, TimeUnit.MILLISECONDS);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            exiting = true;
            flush();
        }, "log-flush-at-exit"));
    }

    @Override
    protected void subAppend(ILoggingEvent event) {
        super.subAppend(event);
        if (exiting || event.getLevel() != Level.INFO || !REQUEST_LOGGER.equals(event.getLoggerName())) {
            flush();
        }
    }

    @Override
    public void stop() {
        if (flusher != null) {
            flusher.shutdownNow();
        }
        flush();
        super.stop(); // closes the buffer, which leaves standard error open (Unclosed)
    }

    private void flush() {
        OutputStream out = getOutputStream();
        if (out == null) {
            return;
        }
        streamWriteLock.lock();
        try {
            out.flush();
        } catch (IOException e) {
            addError("flushing log lines failed", e);
        } finally {
            streamWriteLock.unlock();
        }
    }

    /** Standard error must outlive the appender: closing it only flushes. */
    private static final class Unclosed extends OutputStream {
        private final OutputStream out;

        Unclosed(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
