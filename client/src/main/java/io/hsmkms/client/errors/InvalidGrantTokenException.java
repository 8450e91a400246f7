package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code InvalidGrantTokenException}. */
public class InvalidGrantTokenException extends KmsException {
    private static final long serialVersionUID = 1L;

    public InvalidGrantTokenException(Status.Code code, String requestId, String message, Throwable cause) {
        super("InvalidGrantTokenException", code, requestId, message, cause);
    }
}
