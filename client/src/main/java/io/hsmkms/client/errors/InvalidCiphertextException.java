package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code InvalidCiphertextException}. */
public class InvalidCiphertextException extends KmsException {
    private static final long serialVersionUID = 1L;

    public InvalidCiphertextException(Status.Code code, String requestId, String message, Throwable cause) {
        super("InvalidCiphertextException", code, requestId, message, cause);
    }
}
