package io.hsmkms.server.testing;

import io.hsmkms.server.audit.AuditRecord;
import io.hsmkms.server.audit.AuditTrail;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Holds a trail's writer thread until released, so that records appended meanwhile are queued but
 * not written. It does so from the outside: a subscriber runs on the writer, and this one blocks
 * when it sees its own marker record (which is itself written and durable). Subscribers are meant
 * never to block; this one does on purpose.
 */
public final class HeldAuditWriter implements AutoCloseable {
    private static final String MARKER = "TestHoldsTheAuditWriter";

    private final CountDownLatch holding = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final AutoCloseable subscription;

    private HeldAuditWriter(AuditTrail trail) {
        this.subscription = trail.subscribe(entry -> {
            if (MARKER.equals(entry.record().eventName())) {
                holding.countDown();
                awaitUninterruptibly(release);
            }
        });
    }

    /** Returns once the writer is held; everything appended from now on waits in the queue. */
    public static HeldAuditWriter hold(AuditTrail trail) throws InterruptedException {
        HeldAuditWriter hold = new HeldAuditWriter(trail);
        trail.append(AuditRecord.serviceEvent(Instant.now(), MARKER, "hold", "hold", "000000000000", Map.of()));
        if (!hold.holding.await(10, TimeUnit.SECONDS)) {
            hold.close();
            throw new AssertionError("the audit writer never reached the hold");
        }
        return hold;
    }

    public void release() {
        release.countDown();
    }

    /** Releases the writer if a test ended (or failed) while holding it, so the trail can close. */
    @Override
    public void close() {
        release();
        try {
            subscription.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
