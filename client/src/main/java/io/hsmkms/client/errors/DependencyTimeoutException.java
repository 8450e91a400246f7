package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code DependencyTimeoutException}. */
public class DependencyTimeoutException extends KmsException {
    private static final long serialVersionUID = 1L;

    public DependencyTimeoutException(Status.Code code, String requestId, String message, Throwable cause) {
        super("DependencyTimeoutException", code, requestId, message, cause);
    }
}
