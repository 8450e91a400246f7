package io.hsmkms.hsm;

/**
 * A failed HSM operation, classified so callers can react without knowing PKCS#11. The message
 * is safe to log: it names the operation and the reason, never a PIN, key bytes or a CKR_ code.
 */
public final class HsmException extends RuntimeException {

    public enum Reason {
        /** The data did not authenticate or was malformed (e.g. a GCM tag mismatch). */
        DATA,
        /** The key exists but cannot be used this way. */
        KEY_USAGE,
        /** No key object with that label. */
        NOT_FOUND,
        /** A key object with that label exists already. */
        ALREADY_EXISTS,
        /** No session or concurrency slot could be had in time. */
        BUSY,
        /** Session-level failure; a retry may succeed. */
        SESSION,
        /** The token or library failed; the process may need a restart. */
        DEVICE
    }

    private final Reason reason;

    public HsmException(Reason reason, String operation) {
        super(operation + " failed: " + reason, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
