package io.hsmkms.server.core;

public enum KeyState {
    ENABLED,
    DISABLED,
    /** Scheduled for deletion: unusable; CancelKeyDeletion returns it to DISABLED. */
    PENDING_DELETION,
    /**
     * Claimed by the deletion job, which is destroying its material: nothing can stop it now. Shown
     * to callers as PENDING_DELETION.
     */
    DELETING
}
