package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code ThrottlingException}. */
public class ThrottlingException extends KmsException {
    private static final long serialVersionUID = 1L;

    public ThrottlingException(Status.Code code, String requestId, String message, Throwable cause) {
        super("ThrottlingException", code, requestId, message, cause);
    }
}
