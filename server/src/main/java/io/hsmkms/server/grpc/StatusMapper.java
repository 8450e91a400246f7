package io.hsmkms.server.grpc;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place that turns a failure into what the caller sees: a gRPC status with an ErrorInfo. */
final class StatusMapper {
    static final String DOMAIN = "hsmkms.io";
    private static final Logger LOG = LoggerFactory.getLogger(StatusMapper.class);

    private StatusMapper() {}

    static StatusRuntimeException toStatus(Throwable failure, RequestContext request) {
        ErrorReason reason;
        String message;
        if (failure instanceof KmsException kms) {
            reason = kms.reason();
            message = kms.getMessage();
        } else {
            // Unexpected: details stay in the server log, tied to the request id the caller gets.
            LOG.error("request {} failed unexpectedly", request.requestId(), failure);
            reason = ErrorReason.INTERNAL;
            message = "Internal error; quote request id " + request.requestId() + ".";
        }
        request.recordFailure(reason);
        Status.Code code = codeFor(reason);
        ErrorInfo info = ErrorInfo.newBuilder()
                .setReason(reason.exceptionName())
                .setDomain(DOMAIN)
                .putMetadata("requestId", request.requestId())
                .build();
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
                .setCode(code.value())
                .setMessage(message)
                .addDetails(Any.pack(info))
                .build();
        return StatusProto.toStatusRuntimeException(status);
    }

    static Status.Code codeFor(ErrorReason reason) {
        return switch (reason) {
            case NOT_FOUND -> Status.Code.NOT_FOUND;
            case ALREADY_EXISTS -> Status.Code.ALREADY_EXISTS;
            case DISABLED, INVALID_STATE -> Status.Code.FAILED_PRECONDITION;
            case INVALID_CIPHERTEXT, INCORRECT_KEY, INVALID_KEY_USAGE, VALIDATION -> Status.Code.INVALID_ARGUMENT;
            case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
            case ACCESS_DENIED -> Status.Code.PERMISSION_DENIED;
            case MALFORMED_POLICY, INVALID_GRANT_TOKEN, TAG, INVALID_IMPORT_TOKEN, INCORRECT_KEY_MATERIAL ->
                    Status.Code.INVALID_ARGUMENT;
            case UNSUPPORTED_OPERATION -> Status.Code.FAILED_PRECONDITION;
            case THROTTLING, LIMIT_EXCEEDED -> Status.Code.RESOURCE_EXHAUSTED;
            case DEPENDENCY_TIMEOUT, HSM_UNAVAILABLE, KEY_UNAVAILABLE, AUDIT_UNAVAILABLE -> Status.Code.UNAVAILABLE;
            case INTERNAL -> Status.Code.INTERNAL;
        };
    }
}
