package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code IncorrectKeyException}. */
public class IncorrectKeyException extends KmsException {
    private static final long serialVersionUID = 1L;

    public IncorrectKeyException(Status.Code code, String requestId, String message, Throwable cause) {
        super("IncorrectKeyException", code, requestId, message, cause);
    }
}
