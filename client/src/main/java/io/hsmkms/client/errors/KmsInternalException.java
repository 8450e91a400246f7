package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code KMSInternalException}. */
public class KmsInternalException extends KmsException {
    private static final long serialVersionUID = 1L;

    public KmsInternalException(Status.Code code, String requestId, String message, Throwable cause) {
        super("KMSInternalException", code, requestId, message, cause);
    }
}
