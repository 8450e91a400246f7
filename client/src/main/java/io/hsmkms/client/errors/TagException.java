package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code TagException}. */
public class TagException extends KmsException {
    private static final long serialVersionUID = 1L;

    public TagException(Status.Code code, String requestId, String message, Throwable cause) {
        super("TagException", code, requestId, message, cause);
    }
}
