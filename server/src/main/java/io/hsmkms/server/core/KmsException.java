package io.hsmkms.server.core;

/**
 * A failure the caller is told about. The message is safe to return: it never holds key material,
 * plaintext, PINs or PKCS#11 details. Mapped to a gRPC status in exactly one place.
 */
public final class KmsException extends RuntimeException {
    private final ErrorReason reason;

    public KmsException(ErrorReason reason, String safeMessage) {
        super(safeMessage, null, false, false);
        this.reason = reason;
    }

    public ErrorReason reason() {
        return reason;
    }
}
