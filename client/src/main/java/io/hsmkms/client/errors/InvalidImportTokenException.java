package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code InvalidImportTokenException}. */
public class InvalidImportTokenException extends KmsException {
    private static final long serialVersionUID = 1L;

    public InvalidImportTokenException(Status.Code code, String requestId, String message, Throwable cause) {
        super("InvalidImportTokenException", code, requestId, message, cause);
    }
}
