package io.hsmkms.client.errors;

import io.grpc.Status;

/**
 * A failed KMS call, or an envelope that failed to authenticate. Unchecked, like the AWS SDK's
 * exceptions: callers handle the few reasons they can act on and let the rest propagate.
 *
 * <p>Program against the subclass or {@link #reason()}, never the message text. The message never
 * holds plaintext, key material or credentials.
 */
public class KmsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String reason;
    private final Status.Code code;
    private final String requestId;

    public KmsException(String reason, Status.Code code, String requestId, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.code = code;
        this.requestId = requestId;
    }

    /**
     * The server's ErrorInfo reason, e.g. {@code NotFoundException}; null when the call failed before
     * the server gave one (no connection, deadline exceeded).
     */
    public String reason() {
        return reason;
    }

    /** The gRPC status code; for failures detected in this process (a bad envelope) the code the server would use. */
    public Status.Code code() {
        return code;
    }

    /** The server's request id (quote it when asking for its log), or null when no server answered. */
    public String requestId() {
        return requestId;
    }

    /**
     * True for failures a retry may cure: the service is unavailable or throttled the request. Not
     * {@code KeyUnavailableException}: its status is UNAVAILABLE too, but the key's material is missing
     * from the HSM and a retry within the backoff window cannot bring it back.
     */
    public boolean isRetryable() {
        return (code == Status.Code.UNAVAILABLE && !"KeyUnavailableException".equals(reason))
                || "ThrottlingException".equals(reason);
    }

    @Override
    public String toString() {
        return getClass().getName() + ": " + (reason == null ? code : reason) + ": " + getMessage()
                + (requestId == null ? "" : " (request id " + requestId + ")");
    }
}
