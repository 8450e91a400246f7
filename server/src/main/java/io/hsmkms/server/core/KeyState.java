package io.hsmkms.server.core;

public enum KeyState {
    ENABLED,
    DISABLED,
    /** An EXTERNAL key without key material: created empty, or its material deleted or expired. */
    PENDING_IMPORT,
    /** Scheduled for deletion: unusable; CancelKeyDeletion returns it to DISABLED. */
    PENDING_DELETION,
    /**
     * Claimed by the deletion job, which is destroying its material: nothing can stop it now. Shown
     * to callers as PENDING_DELETION.
     */
    DELETING
}
