package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code UnsupportedOperationException}. */
public class UnsupportedOperationException extends KmsException {
    private static final long serialVersionUID = 1L;

    public UnsupportedOperationException(Status.Code code, String requestId, String message, Throwable cause) {
        super("UnsupportedOperationException", code, requestId, message, cause);
    }
}
