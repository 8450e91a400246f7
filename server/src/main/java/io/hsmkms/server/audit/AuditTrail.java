package io.hsmkms.server.audit;

import java.util.function.Consumer;

/** Where audit records go. Implementations decide how they are kept; callers only append. */
public interface AuditTrail extends AutoCloseable {

    /**
     * Appends a record. With synchronous durability this returns only once the record is on disk;
     * if it cannot be made durable it throws {@link AuditUnavailableException} and the caller must
     * not answer as if the call had succeeded.
     */
    void append(AuditRecord record);

    /**
     * Calls {@code subscriber} with every record once it is durable, until the returned handle is
     * closed. Subscribers run on the writer's thread: they must hand the entry off, never block.
     */
    AutoCloseable subscribe(Consumer<Entry> subscriber);

    /** A record as written: its place in the trail and its exact line. */
    record Entry(long seq, String line, AuditRecord record) {}

    @Override
    void close();

    /** The trail cannot take records (disk full, I/O error, shut down). */
    final class AuditUnavailableException extends RuntimeException {
        public AuditUnavailableException(String message) {
            super(message);
        }
    }
}
