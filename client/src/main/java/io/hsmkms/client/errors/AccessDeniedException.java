package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code AccessDeniedException}. */
public class AccessDeniedException extends KmsException {
    private static final long serialVersionUID = 1L;

    public AccessDeniedException(Status.Code code, String requestId, String message, Throwable cause) {
        super("AccessDeniedException", code, requestId, message, cause);
    }
}
