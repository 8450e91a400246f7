package io.hsmkms.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Sorts a flight recording's CPU samples into the server's components. A sample belongs to the
 * component of its innermost frame that names one, so JDK code (a HashMap, a MessageDigest) counts for
 * whatever called it. CPU-time samples (jdk.CPUTimeSample, one per 2 ms of a Java thread's CPU) include
 * native code and system calls: the token's work counts for the adapter that called it, an fsync for the
 * audit writer. Execution samples (the fallback) see only threads running Java at the sampler's tick.
 * Neither sees the JVM's own threads (GC, JIT): {@link ChildProcess#threadCpuSeconds} covers those.
 */
final class JfrBreakdown {
    /** Components in report order, each with the class-name prefixes that mark its frames. */
    static final Map<String, List<String>> COMPONENTS = components();

    static final String CPU_TIME_SAMPLE = "jdk.CPUTimeSample";

    private JfrBreakdown() {}

    private static Map<String, List<String>> components() {
        Map<String, List<String>> c = new LinkedHashMap<>();
        c.put("access control", List.of("io.hsmkms.server.policy.", "io.hsmkms.server.auth.",
                "io.hsmkms.server.core.AccessControl", "io.hsmkms.server.core.Authorizer",
                "io.hsmkms.server.core.KeyPolicies", "io.hsmkms.server.core.Grant"));
        c.put("audit", List.of("io.hsmkms.server.audit.", "io.hsmkms.audit.", "io.hsmkms.server.core.CallNotes",
                "com.fasterxml.jackson."));
        c.put("request log", List.of("ch.qos.logback.", "org.slf4j."));
        c.put("metrics", List.of("io.micrometer.", "io.prometheus.", "io.hsmkms.server.observability.RequestMetrics"));
        c.put("HSM adapter", List.of("io.hsmkms.hsm.", "sun.security.pkcs11."));
        c.put("metadata store", List.of("io.hsmkms.server.store.", "org.h2.", "com.zaxxer.", "org.postgresql."));
        c.put("gRPC, TLS, protobuf", List.of("io.grpc.", "com.google.protobuf.", "sun.security.ssl.", "io.netty."));
        c.put("service logic", List.of("io.hsmkms."));
        return c;
    }

    /**
     * Share of the recording's samples per component (plus "JDK, other"), summing to 1: its CPU-time samples
     * when it has any (JDK 25+, Linux), else its execution samples.
     */
    static Map<String, Double> shares(Path recording) throws IOException {
        List<RecordedEvent> events = RecordingFile.readAllEvents(recording);
        String sample = events.stream().anyMatch(e -> e.getEventType().getName().equals(CPU_TIME_SAMPLE))
                ? CPU_TIME_SAMPLE : "jdk.ExecutionSample";
        Map<String, Long> counts = new LinkedHashMap<>();
        COMPONENTS.keySet().forEach(k -> counts.put(k, 0L));
        counts.put("JDK, other", 0L);
        long total = 0;
        for (RecordedEvent event : events) {
            if (!event.getEventType().getName().equals(sample) || event.getStackTrace() == null) {
                continue;
            }
            counts.merge(component(event.getStackTrace().getFrames()), 1L, Long::sum);
            total++;
        }
        Map<String, Double> shares = new LinkedHashMap<>();
        for (Map.Entry<String, Long> entry : counts.entrySet()) {
            shares.put(entry.getKey(), total == 0 ? Double.NaN : entry.getValue() / (double) total);
        }
        return shares;
    }

    private static String component(List<RecordedFrame> innermostFirst) {
        for (RecordedFrame frame : innermostFirst) {
            String type = frame.getMethod().getType().getName();
            for (Map.Entry<String, List<String>> component : COMPONENTS.entrySet()) {
                for (String prefix : component.getValue()) {
                    if (type.startsWith(prefix)) {
                        return component.getKey();
                    }
                }
            }
        }
        return "JDK, other";
    }
}
