package io.hsmkms.server.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/** Per-RPC counts by outcome and error reason, latency histograms, and what the audit write costs each call. */
public final class RequestMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<String, Timer> latency = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> counts = new ConcurrentHashMap<>();
    private final Timer auditWrite;

    public RequestMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.auditWrite = Timer.builder("hsmkms.audit.write").description("time a call waits for its audit record")
                .publishPercentileHistogram().register(registry);
    }

    public void completed(String rpc, String outcome, String reason, long nanos) {
        latency.computeIfAbsent(rpc, r -> Timer.builder("hsmkms.request").tag("rpc", r).publishPercentileHistogram()
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        counts.computeIfAbsent(rpc + '\0' + outcome + '\0' + reason, k -> Counter.builder("hsmkms.requests")
                .tag("rpc", rpc).tag("outcome", outcome).tag("reason", reason).register(registry)).increment();
    }

    public void auditWrite(long nanos) {
        auditWrite.record(nanos, TimeUnit.NANOSECONDS);
    }
}
