package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code ValidationException}. */
public class ValidationException extends KmsException {
    private static final long serialVersionUID = 1L;

    public ValidationException(Status.Code code, String requestId, String message, Throwable cause) {
        super("ValidationException", code, requestId, message, cause);
    }
}
