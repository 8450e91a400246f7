package io.hsmkms.server.core;

import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which backing versions the HSM could not serve the last time anyone looked: a key whose current
 * version is among them is shown as Unavailable. Derived, never stored: Unavailable is a condition
 * of the HSM (material lost, a token object deleted behind our back, a replica not yet caught up),
 * not a lifecycle decision, so it clears by itself the moment the HSM serves the version again.
 * Fed by the data plane (a NOT_FOUND from the HSM, then a success) and by each reconciliation run.
 */
public final class KeyAvailability {
    private final Set<String> missing = ConcurrentHashMap.newKeySet();

    /** The HSM has no object under this label. */
    void missing(String hsmLabel) {
        missing.add(hsmLabel);
    }

    /** The HSM just used this label; cheap when nothing is missing, which is the normal case. */
    void served(String hsmLabel) {
        if (!missing.isEmpty()) {
            missing.remove(hsmLabel);
        }
    }

    /** A full comparison of metadata and token found exactly these labels missing. */
    void reconciled(Collection<String> missingLabels) {
        missing.retainAll(Set.copyOf(missingLabels));
        missing.addAll(missingLabels);
    }

    /** Whether a key that should be usable cannot be, because its current material is missing. */
    public boolean unavailable(ManagedKey key) {
        if (missing.isEmpty() || key.versions().isEmpty()) {
            return false;
        }
        boolean shouldServe = key.state() == KeyState.ENABLED || key.state() == KeyState.DISABLED;
        return shouldServe && missing.contains(key.currentVersion().hsmLabel());
    }
}
