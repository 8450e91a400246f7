package io.hsmkms.server.grpc;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import io.hsmkms.server.auth.Authenticator;
import io.hsmkms.server.core.KmsException;

/** Authenticates every KMS call before its handler runs; failures end the call as UNAUTHENTICATED. */
final class AuthInterceptor implements ServerInterceptor {
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final Authenticator authenticator;

    AuthInterceptor(Authenticator authenticator) {
        this.authenticator = authenticator;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        RequestContext request = RequestContext.current();
        try {
            request.authenticated(authenticator.authenticate(headers.get(AUTHORIZATION),
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION),
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
        } catch (KmsException e) {
            StatusRuntimeException status = StatusMapper.toStatus(e, request);
            call.close(status.getStatus(), status.getTrailers() == null ? new Metadata() : status.getTrailers());
            return new ServerCall.Listener<>() { };
        }
        return next.startCall(call, headers);
    }
}
