package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code LimitExceededException}. */
public class LimitExceededException extends KmsException {
    private static final long serialVersionUID = 1L;

    public LimitExceededException(Status.Code code, String requestId, String message, Throwable cause) {
        super("LimitExceededException", code, requestId, message, cause);
    }
}
