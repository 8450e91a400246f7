package io.hsmkms.server.store;

import io.hsmkms.hsm.TokenWriteLock;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * The nodes' token write lock as a PostgreSQL advisory lock, held in a transaction of its own for the length of
 * one token write. The database is what the nodes already share; a lock there costs a round trip per key create
 * or destroy. A node waits at most {@link #WAIT} (then the write fails as busy, and the caller may retry).
 */
final class AdvisoryTokenWriteLock implements TokenWriteLock {
    /** The advisory lock's key: "hsmkmstw" in ASCII, unlikely to be anyone else's. */
    static final long KEY = 0x68736d6b6d737477L;
    static final String WAIT = "10s";

    private final DataSource dataSource;

    AdvisoryTokenWriteLock(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public Held acquire() {
        Connection connection;
        try {
            connection = dataSource.getConnection();
        } catch (SQLException e) {
            throw new StoreException("take the token write lock", e);
        }
        try {
            connection.setAutoCommit(false);
            try (Statement wait = connection.createStatement()) {
                wait.execute("SET LOCAL lock_timeout = '" + WAIT + "'");
            }
            try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                lock.setLong(1, KEY);
                lock.execute();
            }
        } catch (SQLException e) {
            release(connection);
            throw new StoreException("take the token write lock", e);
        }
        return () -> release(connection);
    }

    /** Ending the transaction releases the lock; closing gives the connection back to the pool. */
    private static void release(Connection connection) {
        try (connection) {
            connection.rollback();
            connection.setAutoCommit(true);
        } catch (SQLException e) {
            // The pool drops a connection it cannot reset; the lock goes with the session.
        }
    }
}
