package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code DisabledException}. */
public class DisabledException extends KmsException {
    private static final long serialVersionUID = 1L;

    public DisabledException(Status.Code code, String requestId, String message, Throwable cause) {
        super("DisabledException", code, requestId, message, cause);
    }
}
