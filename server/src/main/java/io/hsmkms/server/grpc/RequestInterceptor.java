package io.hsmkms.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Gives every call a request id (returned in the {@code x-request-id} header) and writes one
 * structured log line per call: method, status, reason, latency. Never payloads.
 */
public final class RequestInterceptor implements ServerInterceptor {
    public static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
    private static final Logger LOG = LoggerFactory.getLogger("io.hsmkms.requests");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        RequestContext request = new RequestContext();
        long started = System.nanoTime();
        String method = call.getMethodDescriptor().getBareMethodName();
        ServerCall<Q, R> logged = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendHeaders(Metadata responseHeaders) {
                responseHeaders.put(REQUEST_ID, request.requestId());
                super.sendHeaders(responseHeaders);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (!trailers.containsKey(REQUEST_ID)) {
                    trailers.put(REQUEST_ID, request.requestId());
                }
                long micros = (System.nanoTime() - started) / 1_000;
                MDC.put("requestId", request.requestId());
                try {
                    LOG.info("rpc={} principal={} status={} reason={} latencyMicros={}", method, request.principalArn(),
                            status.getCode(), request.failure() == null ? "-" : request.failure().exceptionName(), micros);
                } finally {
                    MDC.remove("requestId");
                }
                super.close(status, trailers);
            }
        };
        Context context = Context.current().withValue(RequestContext.KEY, request);
        return Contexts.interceptCall(context, logged, headers, next);
    }
}
