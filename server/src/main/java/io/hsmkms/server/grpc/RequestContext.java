package io.hsmkms.server.grpc;

import io.grpc.Context;
import io.hsmkms.server.core.ErrorReason;
import java.util.UUID;

/** Per-call facts shared between the interceptor and the handler: the request id and the outcome. */
final class RequestContext {
    static final Context.Key<RequestContext> KEY = Context.key("hsmkms-request");

    private final String requestId = UUID.randomUUID().toString();
    private volatile ErrorReason failure;

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

    void recordFailure(ErrorReason reason) {
        this.failure = reason;
    }

    /** The error reason of a failed call, or null. */
    ErrorReason failure() {
        return failure;
    }
}
