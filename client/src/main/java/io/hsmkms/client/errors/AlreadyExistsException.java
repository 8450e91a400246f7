package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code AlreadyExistsException}. */
public class AlreadyExistsException extends KmsException {
    private static final long serialVersionUID = 1L;

    public AlreadyExistsException(Status.Code code, String requestId, String message, Throwable cause) {
        super("AlreadyExistsException", code, requestId, message, cause);
    }
}
