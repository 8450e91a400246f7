package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code InvalidKeyUsageException}. */
public class InvalidKeyUsageException extends KmsException {
    private static final long serialVersionUID = 1L;

    public InvalidKeyUsageException(Status.Code code, String requestId, String message, Throwable cause) {
        super("InvalidKeyUsageException", code, requestId, message, cause);
    }
}
