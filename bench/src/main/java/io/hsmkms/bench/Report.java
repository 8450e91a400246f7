package io.hsmkms.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The harness's Markdown tables: the service next to its baselines, and the ratios between them. */
final class Report {
    private record Row(String op, int inFlight, LoadHarness.Measured service, ClosedLoop.Result jca, ClosedLoop.Result echo) {}

    private final double seconds;
    private final double warmup;
    private final String serverJvmArgs;
    private final List<Row> rows = new ArrayList<>();

    Report(double seconds, double warmup, String serverJvmArgs) {
        this.seconds = seconds;
        this.warmup = warmup;
        this.serverJvmArgs = serverJvmArgs;
    }

    void add(String op, int inFlight, LoadHarness.Measured service, ClosedLoop.Result jca, ClosedLoop.Result echo) {
        rows.add(new Row(op, inFlight, service, jca, echo));
    }

    String markdown() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Each cell: %.0f s measured after %.0f s warm-up, closed loop; server JVM options `%s`.%n%n",
                seconds, warmup, serverJvmArgs));
        out.append("| operation | in flight | service ops/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors "
                + "| server CPU ms/op | server heap peak MiB | naive JCA ops/s | service / JCA | gRPC echo ops/s | service / echo |\n");
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row row : rows) {
            ClosedLoop.Result s = row.service().result();
            out.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.1f | %d | %.3f | %.0f | %s | %s | %s | %s |%n",
                    row.op(), row.inFlight(), s.opsPerSecond(), s.percentileMillis(50), s.percentileMillis(90),
                    s.percentileMillis(99), s.percentileMillis(99.9), s.maxMillis(), s.errors(),
                    row.service().cpuMillisPerOp(), row.service().peakHeapMiB(),
                    ops(row.jca()), ratio(s, row.jca()), ops(row.echo()), ratio(s, row.echo())));
        }
        out.append(String.format(Locale.ROOT, "%nServer CPU per operation by thread group, ms (user + system, measured window; "
                + "handlers: the threads running the service (kms-crypto for the cryptographic calls since 2026-12-06, kms-handler; gRPC executor threads before 892139a); "
                + "transport: Netty event loops: TLS, HTTP/2, decoding, authentication; "
                + "audit release: the trail's threads that log and send each response once its record is durable):%n%n"));
        out.append("| operation | in flight | ").append(String.join(" | ", ChildProcess.THREAD_GROUPS)).append(" |\n");
        out.append("|---|---|").append("---|".repeat(ChildProcess.THREAD_GROUPS.size())).append("\n");
        for (Row row : rows) {
            out.append(String.format(Locale.ROOT, "| %s | %d |", row.op(), row.inFlight()));
            for (String group : ChildProcess.THREAD_GROUPS) {
                Double ms = row.service().threadCpuMillisPerOp().get(group);
                out.append(ms == null ? " - |" : String.format(Locale.ROOT, " %.3f |", ms));
            }
            out.append('\n');
        }
        if (rows.stream().anyMatch(r -> !r.service().javaSampleShares().isEmpty())) {
            List<String> components = new ArrayList<>(JfrBreakdown.COMPONENTS.keySet());
            components.add("JDK, other");
            out.append(String.format(Locale.ROOT, "%nShare of the server's CPU samples by component (JFR: CPU-time samples where the JDK has them, "
                    + "native code and system calls included; else execution samples, Java code only):%n%n"));
            out.append("| operation | in flight | ").append(String.join(" | ", components)).append(" |\n");
            out.append("|---|---|").append("---|".repeat(components.size())).append("\n");
            for (Row row : rows) {
                out.append(String.format(Locale.ROOT, "| %s | %d |", row.op(), row.inFlight()));
                for (String component : components) {
                    Double share = row.service().javaSampleShares().get(component);
                    out.append(share == null ? " - |" : String.format(Locale.ROOT, " %.1f %% |", share * 100));
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    private static String ops(ClosedLoop.Result result) {
        return result == null ? "-" : String.format(Locale.ROOT, "%.0f", result.opsPerSecond());
    }

    private static String ratio(ClosedLoop.Result service, ClosedLoop.Result baseline) {
        return baseline == null || baseline.opsPerSecond() == 0 ? "-"
                : String.format(Locale.ROOT, "%.2fx", service.opsPerSecond() / baseline.opsPerSecond());
    }
}
