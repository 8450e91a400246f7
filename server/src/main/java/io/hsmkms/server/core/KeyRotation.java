package io.hsmkms.server.core;

import io.hsmkms.server.store.KeyRepository;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Automatic rotation: keys whose next rotation date has come get a new backing version. Dates live
 * in the store, so the schedule survives restarts; the rotation's metadata write is optimistic, so
 * of several runs racing for one key only one adds the version.
 */
public final class KeyRotation {
    private static final Logger LOG = LoggerFactory.getLogger(KeyRotation.class);
    private static final int BATCH = 100;

    private final KeyOperations keys;
    private final KeyRepository repository;
    private final Clock clock;

    public KeyRotation(KeyOperations keys, KeyRepository repository, Clock clock) {
        this.keys = keys;
        this.repository = repository;
        this.clock = clock;
    }

    /** Rotates every key that is due now; returns how many were rotated. */
    public int runOnce() {
        int rotated = 0;
        for (ManagedKey key : repository.dueForRotation(clock.instant(), BATCH)) {
            try {
                ManagedKey after = keys.rotateAutomatically(key);
                LOG.info("key {} rotated to version {}", key.id(), after.currentVersion().number());
                rotated++;
            } catch (KmsException e) {
                LOG.warn("key {} not rotated this time: {}", key.id(), e.reason().exceptionName());
            }
        }
        return rotated;
    }
}
