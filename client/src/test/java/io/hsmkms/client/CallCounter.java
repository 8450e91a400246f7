package io.hsmkms.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the calls a client sends, per method (e.g. "GenerateDataKey"), attempts included. */
public final class CallCounter implements ClientInterceptor {
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        calls.computeIfAbsent(method.getBareMethodName(), m -> new AtomicInteger()).incrementAndGet();
        return next.newCall(method, options);
    }

    public int count(String method) {
        AtomicInteger n = calls.get(method);
        return n == null ? 0 : n.get();
    }

    public void reset() {
        calls.clear();
    }
}
