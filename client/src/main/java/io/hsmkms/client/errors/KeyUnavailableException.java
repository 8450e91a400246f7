package io.hsmkms.client.errors;

import io.grpc.Status;

/**
 * The server's {@code KeyUnavailableException}: the HSM cannot serve the key's material (missing
 * from the token), and the key shows as {@code KEY_STATE_UNAVAILABLE}. Sent with status UNAVAILABLE,
 * but <b>not retried</b>: the condition lasts until an operator restores the material (or a replica
 * catches up), far longer than a retry's backoff, so retries would only delay the answer and load the HSM.
 */
public class KeyUnavailableException extends KmsException {
    private static final long serialVersionUID = 1L;

    public KeyUnavailableException(Status.Code code, String requestId, String message, Throwable cause) {
        super("KeyUnavailableException", code, requestId, message, cause);
    }
}
