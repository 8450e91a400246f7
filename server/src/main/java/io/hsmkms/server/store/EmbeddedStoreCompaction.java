package io.hsmkms.server.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewrites the embedded H2 file, before the server opens it, when most of it is free space.
 *
 * <p>Why it gets that way: H2 writes every commit as new copies of the pages it touched, may reuse the old copies'
 * space only 45 s later, and rewrites sparse parts of the file only in its background maintenance, which does not
 * run here because the store writes each commit at once ({@code WRITE_DELAY=0}, see {@link JdbcKeyRepository}); a
 * clean close compacts for at most 200 ms. A burst of commits therefore leaves a file that keeps its size: creating
 * 30,000 keys at about 100 a second left 788 MiB holding 17 % live pages, and steady writes only reuse that space
 * (docs/deployment.md). {@code SHUTDOWN COMPACT} copies the live pages into a new file and swaps it in (788 MiB to
 * 11 MiB in about 2 s there); until the swap the old file is untouched, so a crash meanwhile loses nothing.
 */
final class EmbeddedStoreCompaction {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedStoreCompaction.class);
    /** Smaller files are not worth delaying a start for, however sparse. */
    static final long MIN_BYTES = 64L * 1024 * 1024;
    /** Compacted when fewer than this share of the file's pages are live. */
    static final int BELOW_FILL_PERCENT = 50;

    /** What a check found: the file's size and live share before, its size after (the same when not compacted). */
    record Result(long bytesBefore, int fillPercent, long bytesAfter, boolean compacted) {}

    private EmbeddedStoreCompaction() {}

    /**
     * Compacts the embedded database under {@code dataDir} if its file is at least {@code minBytes} and under
     * {@code belowFillPercent} % live. Call only while no other connection has it open. Never fails the caller:
     * a store that cannot be compacted is still opened as it is.
     */
    static Result compactIfSparse(Path dataDir, long minBytes, int belowFillPercent) {
        Path file = JdbcKeyRepository.embeddedFile(dataDir);
        long before;
        try {
            before = Files.exists(file) ? Files.size(file) : 0;
        } catch (java.io.IOException e) {
            return new Result(0, 100, 0, false);
        }
        if (before < minBytes) {
            return new Result(before, 100, before, false);
        }
        long started = System.nanoTime();
        int fill;
        try (Connection connection = DriverManager.getConnection(JdbcKeyRepository.embeddedUrl(dataDir),
                JdbcKeyRepository.EMBEDDED_USER, "")) {
            fill = fillPercent(connection);
            if (fill >= belowFillPercent) {
                return new Result(before, fill, before, false);
            }
            try (Statement shutdown = connection.createStatement()) {
                shutdown.execute("SHUTDOWN COMPACT");
            }
        } catch (SQLException e) {
            LOG.warn("compacting the metadata store failed (it is opened as it is): SQLState {}", e.getSQLState());
            return new Result(before, 100, before, false);
        }
        long after;
        try {
            after = Files.size(file);
        } catch (java.io.IOException e) {
            after = before;
        }
        LOG.info("metadata store compacted: {} MiB with {} % live pages, now {} MiB ({} ms)", before >> 20, fill,
                after >> 20, (System.nanoTime() - started) / 1_000_000);
        return new Result(before, fill, after, true);
    }

    /** H2's own figure for the share of live pages; 100 when it gives none (nothing is then compacted). */
    private static int fillPercent(Connection connection) throws SQLException {
        try (Statement query = connection.createStatement();
             ResultSet row = query.executeQuery("SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS "
                     + "WHERE SETTING_NAME = 'info.FILL_RATE'")) {
            return row.next() ? Integer.parseInt(row.getString(1).trim()) : 100;
        } catch (NumberFormatException e) {
            return 100;
        }
    }
}
