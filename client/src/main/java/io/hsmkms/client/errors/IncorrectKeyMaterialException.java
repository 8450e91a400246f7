package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code IncorrectKeyMaterialException}. */
public class IncorrectKeyMaterialException extends KmsException {
    private static final long serialVersionUID = 1L;

    public IncorrectKeyMaterialException(Status.Code code, String requestId, String message, Throwable cause) {
        super("IncorrectKeyMaterialException", code, requestId, message, cause);
    }
}
