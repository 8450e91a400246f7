package io.hsmkms.server.audit;

import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/** Where audit records go. Implementations decide how they are kept; callers only append. */
public interface AuditTrail extends AutoCloseable {

    /**
     * Appends a record without waiting for the disk. The stage completes once the record is durable
     * (synchronous durability) or accepted (asynchronous), and fails with
     * {@link AuditUnavailableException} if that cannot happen; it always completes, within the
     * trail's own time limit, so a caller that hangs its answer on it is never left waiting. Failures
     * come only through the stage, never as an exception from this method. Stages attached to it may
     * run on a thread of the trail: they must not block for long, and exceptions they throw are not
     * seen by the trail.
     */
    CompletionStage<Void> appendAsync(AuditRecord record);

    /**
     * Appends a record and waits: with synchronous durability this returns only once the record is
     * on disk; if it cannot be made durable it throws {@link AuditUnavailableException} and the
     * caller must not answer as if the call had succeeded.
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
