package io.hsmkms.client.cli;

import java.io.Console;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;

/** A progress bar on stderr while a large file is read, redrawn at most five times a second. */
final class Progress extends FilterInputStream {
    static final long THRESHOLD = 8L << 20;
    private static final int WIDTH = 30;

    private final long total;
    private final PrintStream err;
    private long done;
    private long lastDraw;

    private Progress(InputStream in, long total, PrintStream err) {
        super(in);
        this.total = total;
        this.err = err;
    }

    /** Wraps {@code in} when the input is larger than 8 MiB and a person is watching; else returns it as is. */
    static InputStream maybeWrap(InputStream in, long total) {
        return total > THRESHOLD && interactive() ? new Progress(in, total, System.err) : in;
    }

    /**
     * System.console() alone is not enough from JDK 22 on, where it exists even for redirected streams:
     * there Console.isTerminal() (looked up reflectively, as the build targets Java 21) must agree too.
     */
    static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            advance(1);
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
            advance(n);
        }
        return n;
    }

    private void advance(long n) {
        done += n;
        long now = System.nanoTime();
        if (done >= total || now - lastDraw > 200_000_000L) {
            lastDraw = now;
            int filled = (int) (WIDTH * Math.min(done, total) / total);
            err.printf("\r[%s%s] %3d%% %,d / %,d MiB", "#".repeat(filled), " ".repeat(WIDTH - filled),
                    100 * Math.min(done, total) / total, done >> 20, total >> 20);
            if (done >= total) {
                err.println();
            }
            err.flush();
        }
    }
}
