package io.hsmkms.server.core;

import io.hsmkms.server.store.KeyRepository;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Automatic rotation: keys whose next rotation date has come, and keys whose current version has
 * done the configured number of encryptions, get a new backing version. Dates and counts live in
 * the store, so both survive restarts; the rotation's metadata write is optimistic, so
 * of several runs racing for one key only one adds the version.
 */
public final class KeyRotation {
    private static final Logger LOG = LoggerFactory.getLogger(KeyRotation.class);
    private static final int BATCH = 100;

    private final KeyOperations keys;
    private final KeyRepository repository;
    private final EncryptionCounter counter;
    private final long maxEncryptionsPerVersion;
    private final Clock clock;
    private final KeyEvents events;

    /** @param maxEncryptionsPerVersion rotate a key whose current version has done this many encryptions */
    public KeyRotation(KeyOperations keys, KeyRepository repository, EncryptionCounter counter,
                       long maxEncryptionsPerVersion, Clock clock, KeyEvents events) {
        this.events = events;
        this.keys = keys;
        this.repository = repository;
        this.counter = counter;
        this.maxEncryptionsPerVersion = maxEncryptionsPerVersion;
        this.clock = clock;
    }

    /** Rotates every key that is due by date or by use; returns how many were rotated. */
    public int runOnce() {
        int rotated = 0;
        counter.flush();
        for (ManagedKey key : repository.overEncryptionBound(maxEncryptionsPerVersion, BATCH)) {
            try {
                ManagedKey after = keys.rotateForUsage(key);
                LOG.info("key {} rotated to version {}: version {} reached {} encryptions", key.id(),
                        after.currentVersion().number(), key.currentVersion().number(), maxEncryptionsPerVersion);
                events.publish(KeyEvents.ROTATED, after, java.util.Map.of("reason", "usage",
                        "newVersion", Integer.toString(after.currentVersion().number())));
                rotated++;
            } catch (KmsException e) {
                LOG.warn("key {} not rotated this time: {}", key.id(), e.reason().exceptionName());
            }
        }
        for (ManagedKey key : repository.dueForRotation(clock.instant(), BATCH)) {
            try {
                ManagedKey after = keys.rotateAutomatically(key);
                LOG.info("key {} rotated to version {}", key.id(), after.currentVersion().number());
                events.publish(KeyEvents.ROTATED, after, java.util.Map.of("reason", "schedule",
                        "newVersion", Integer.toString(after.currentVersion().number())));
                rotated++;
            } catch (KmsException e) {
                LOG.warn("key {} not rotated this time: {}", key.id(), e.reason().exceptionName());
            }
        }
        return rotated;
    }
}
