package io.hsmkms.server.grpc;

import io.grpc.Context;
import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.Principal;
import java.util.UUID;

/** Per-call facts shared between the interceptor and the handler: the request id and the outcome. */
final class RequestContext {
    static final Context.Key<RequestContext> KEY = Context.key("hsmkms-request");

    private final String requestId = UUID.randomUUID().toString();
    private volatile ErrorReason failure;
    private volatile Principal principal;

    static RequestContext current() {
        RequestContext context = KEY.get();
        if (context == null) {
            throw new IllegalStateException("RequestInterceptor is not installed");
        }
        return context;
    }

    String requestId() {
        return requestId;
    }

    void authenticated(Principal caller) {
        this.principal = caller;
    }

    /** The authenticated caller; set by AuthInterceptor before any handler runs. */
    Principal principal() {
        if (principal == null) {
            throw new IllegalStateException("AuthInterceptor is not installed");
        }
        return principal;
    }

    /** The caller's ARN for logs, or "-" before authentication. */
    String principalArn() {
        return principal == null ? "-" : principal.arn();
    }

    void recordFailure(ErrorReason reason) {
        this.failure = reason;
    }

    /** The error reason of a failed call, or null. */
    ErrorReason failure() {
        return failure;
    }
}
