package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code UnauthenticatedException}. */
public class UnauthenticatedException extends KmsException {
    private static final long serialVersionUID = 1L;

    public UnauthenticatedException(Status.Code code, String requestId, String message, Throwable cause) {
        super("UnauthenticatedException", code, requestId, message, cause);
    }
}
