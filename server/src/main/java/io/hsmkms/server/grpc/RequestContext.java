package io.hsmkms.server.grpc;

import io.grpc.Context;
import io.hsmkms.server.core.CallIds;
import io.hsmkms.server.core.CallNotes;
import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.Principal;

/** Per-call facts shared between the interceptors and the handler: request id, caller, outcome, audit notes. */
final class RequestContext {
    static final Context.Key<RequestContext> KEY = Context.key("hsmkms-request");

    private final String requestId = CallIds.next();
    private final CallNotes notes = new CallNotes();
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

    CallNotes notes() {
        return notes;
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

    /** The authenticated caller, or null before (or without) authentication. */
    Principal principalOrNull() {
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
