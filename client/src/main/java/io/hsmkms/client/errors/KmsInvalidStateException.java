package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code KMSInvalidStateException}. */
public class KmsInvalidStateException extends KmsException {
    private static final long serialVersionUID = 1L;

    public KmsInvalidStateException(Status.Code code, String requestId, String message, Throwable cause) {
        super("KMSInvalidStateException", code, requestId, message, cause);
    }
}
