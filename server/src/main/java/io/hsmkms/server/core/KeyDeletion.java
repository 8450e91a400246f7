package io.hsmkms.server.core;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.server.store.ConcurrentUpdateException;
import io.hsmkms.server.store.KeyRepository;
import java.time.Clock;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destroys keys whose deletion window has ended. Deadlines live in the store, so the job survives
 * restarts. Each key is first claimed (PENDING_DELETION -> DELETING under optimistic concurrency):
 * a CancelKeyDeletion that wins keeps the key whole, and of several nodes only one claims it.
 * Then every backing version is destroyed in the HSM (an already missing one counts as destroyed,
 * so a crashed run resumes cleanly) and only then is the metadata removed.
 *
 * <p>The claim is a lease: it moves the deletion date {@link #CLAIM_LEASE} ahead, so while one node
 * destroys the material the key is not due for any other node (which would otherwise see a DELETING
 * key, destroy nothing it could find and log a second deletion). If the claiming node dies, the key
 * becomes due again when the lease ends and the next run, on any node, claims it afresh.
 */
public final class KeyDeletion {
    private static final Logger LOG = LoggerFactory.getLogger(KeyDeletion.class);
    private static final int BATCH = 100;
    /** Far longer than destroying a key's versions takes; how long a crashed claim blocks a retry. */
    static final java.time.Duration CLAIM_LEASE = java.time.Duration.ofMinutes(5);

    private final Hsm hsm;
    private final KeyRepository repository;
    private final Clock clock;
    private final KeyEvents events;

    public KeyDeletion(Hsm hsm, KeyRepository repository, Clock clock, KeyEvents events) {
        this.hsm = hsm;
        this.repository = repository;
        this.clock = clock;
        this.events = events;
    }

    /** Deletes every key that is due now; returns how many were deleted. Idempotent. */
    public int runOnce() {
        int deleted = 0;
        List<ManagedKey> due = repository.dueForDeletion(clock.instant(), BATCH);
        for (ManagedKey key : due) {
            if (delete(key)) {
                deleted++;
            }
        }
        return deleted;
    }

    private boolean delete(ManagedKey due) {
        ManagedKey key;
        try {
            key = repository.update(due.withDeletion(KeyState.DELETING, clock.instant().plus(CLAIM_LEASE)));
        } catch (ConcurrentUpdateException | java.util.NoSuchElementException e) {
            LOG.info("key {} not deleted by this run: it changed since it was found due (cancelled, or claimed by "
                    + "another node)", due.id());
            return false;
        }
        for (KeyVersion version : key.versions()) {
            try {
                hsm.destroyKey(new HsmKeyRef(version.hsmLabel()));
            } catch (HsmException e) {
                if (e.reason() != HsmException.Reason.NOT_FOUND) {
                    LOG.warn("deleting key {}: the HSM could not destroy version {} ({}); will retry", key.id(),
                            version.number(), e.reason());
                    return false;
                }
            }
        }
        repository.deleteKey(key.id());
        LOG.info("key {} deleted: {} backing version(s) destroyed in the HSM", key.id(), key.versions().size());
        events.publish(KeyEvents.DELETED, key, java.util.Map.of("versionsDestroyed", Integer.toString(key.versions().size())));
        return true;
    }
}
