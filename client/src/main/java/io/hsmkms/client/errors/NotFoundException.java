package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code NotFoundException}. */
public class NotFoundException extends KmsException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(Status.Code code, String requestId, String message, Throwable cause) {
        super("NotFoundException", code, requestId, message, cause);
    }
}
