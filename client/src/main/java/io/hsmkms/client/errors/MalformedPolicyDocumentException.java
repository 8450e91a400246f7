package io.hsmkms.client.errors;

import io.grpc.Status;

/** The server's {@code MalformedPolicyDocumentException}. */
public class MalformedPolicyDocumentException extends KmsException {
    private static final long serialVersionUID = 1L;

    public MalformedPolicyDocumentException(Status.Code code, String requestId, String message, Throwable cause) {
        super("MalformedPolicyDocumentException", code, requestId, message, cause);
    }
}
