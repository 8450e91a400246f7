package io.hsmkms.server.observability;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Request lines leave in batches of whole lines, in order and soon; every other line leaves at once. */
class BatchingStderrAppenderTest {
    private final LoggerContext context = new LoggerContext();
    private final CountingStream target = new CountingStream();
    private final BatchingStderrAppender appender = new BatchingStderrAppender();
    private Logger requests;
    private Logger server;

    /** The appender on its own logger context, writing to {@link #target}. */
    private void start(long flushMillis) {
        context.setMDCAdapter(new LogbackMDCAdapter()); // what the SLF4J binding gives the product's context
        context.start();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%level %logger %msg%n");
        encoder.start();
        appender.setContext(context);
        appender.setEncoder(encoder);
        appender.setFlushMillis(flushMillis);
        appender.writeTo(target);
        appender.start();
        requests = context.getLogger(BatchingStderrAppender.REQUEST_LOGGER);
        server = context.getLogger("io.hsmkms.server.Main");
        for (Logger logger : List.of(requests, server)) {
            logger.setAdditive(false);
            logger.setLevel(Level.INFO);
            logger.addAppender(appender);
        }
    }

    @AfterEach
    void stop() {
        appender.stop();
    }

    @Test
    void requestLines_leaveInAFewWritesOfWholeLines_inOrder_withinTheFlushInterval() throws Exception {
        start(50);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            requests.info("rpc=Encrypt status=OK n={}", i);
            expected.add("INFO io.hsmkms.requests rpc=Encrypt status=OK n=" + i);
        }

        long deadline = System.nanoTime() + 5_000_000_000L;
        while (target.lines().size() < expected.size() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }

        assertThat(target.lines()).isEqualTo(expected);
        assertThat(target.writes()).as("write calls for 1,000 lines").isLessThan(20);
        assertThat(target.everyWriteEndedALine()).isTrue();
    }

    @Test
    void otherLines_andRequestWarnings_leaveAtOnce_withTheRequestLinesBeforeThem() {
        start(60_000); // no flusher tick during this test: only the rule can write
        requests.info("rpc=Decrypt n=1");
        server.info("hsmkms listening on 127.0.0.1:1");
        assertThat(target.lines()).containsExactly("INFO io.hsmkms.requests rpc=Decrypt n=1",
                "INFO io.hsmkms.server.Main hsmkms listening on 127.0.0.1:1");

        requests.warn("releasing the answer of Decrypt failed");
        assertThat(target.lines()).endsWith("WARN io.hsmkms.requests releasing the answer of Decrypt failed");
    }

    @Test
    void stopping_writesWhatWaits_andLeavesTheStreamOpen() {
        start(60_000); // no flusher tick during this test
        requests.info("rpc=Encrypt n=last");
        assertThat(target.lines()).as("waiting in the buffer").isEmpty();

        appender.stop();

        assertThat(target.lines()).containsExactly("INFO io.hsmkms.requests rpc=Encrypt n=last");
        assertThat(target.closed).isFalse();
    }

    /** Records what reaches "standard error": bytes, write calls, whether each write ended on a line's end. */
    private static final class CountingStream extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private int writes;
        private boolean wholeLines = true;
        volatile boolean closed;

        @Override
        public synchronized void write(int b) {
            writes++;
            bytes.write(b);
            wholeLines &= b == '\n';
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            writes++;
            bytes.write(b, off, len);
            wholeLines &= len > 0 && b[off + len - 1] == '\n';
        }

        @Override
        public void close() {
            closed = true;
        }

        synchronized int writes() {
            return writes;
        }

        synchronized boolean everyWriteEndedALine() {
            return wholeLines;
        }

        synchronized List<String> lines() {
            String text = bytes.toString(StandardCharsets.UTF_8);
            return text.isEmpty() ? List.of() : List.of(text.split("\n"));
        }
    }
}
