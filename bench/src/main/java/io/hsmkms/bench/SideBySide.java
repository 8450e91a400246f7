package io.hsmkms.bench;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Two servers alive for the whole run, measured in alternating windows: {@code --versus-one-key ROUNDS} (this
 * build holding and using {@code --keys} keys against one holding one) and {@code --versus-build DIR} (this
 * build against the build in another checkout, same workload). Separate runs, even back to back, moved by a
 * third on this shared machine (the echo baseline alone did), more than the effects asked about; alternating
 * windows put both sides under the same conditions, and the per-round ratios show how far to trust the
 * total. Rounds alternate which side goes first (A B, B A, ...), so a machine that drifts during a round
 * favours neither.
 */
final class SideBySide {
    /** One server's side of a round. */
    record Side(ClosedLoop.Result result, double cpuMillisPerOp, java.util.Map<String, Double> threadCpuMillisPerOp,
                double peakHeapMiB) {}

    record Round(Side a, Side b) {
        double ratio() {
            return a.result().opsPerSecond() / b.result().opsPerSecond();
        }
    }

    /** One server with its measured operation. */
    record Target(ChildProcess server, int metricsPort, LoadHarness.Run run) {}

    private final String aLabel;
    private final String bLabel;
    private final String what;
    private final List<String> rows = new ArrayList<>();
    private final List<String> threadRows = new ArrayList<>();

    /** @param what one sentence for the report: what the two servers are */
    SideBySide(String aLabel, String bLabel, String what) {
        this.aLabel = aLabel;
        this.bLabel = bLabel;
        this.what = what;
    }

    void measure(String op, int inFlight, int rounds, Target a, Target b, HttpClient http, double warmup,
                 double seconds) throws Exception {
        List<Round> done = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            Side first = side(r % 2 == 0 ? a : b, http, warmup, seconds);
            Side second = side(r % 2 == 0 ? b : a, http, warmup, seconds);
            done.add(r % 2 == 0 ? new Round(first, second) : new Round(second, first));
            Round round = done.getLast();
            System.err.printf(Locale.ROOT, "%-18s %3d in flight, round %d: %s %8.0f ops/s, %s %8.0f (%.2fx)%n", op,
                    inFlight, r + 1, aLabel, round.a().result().opsPerSecond(), bLabel, round.b().result().opsPerSecond(),
                    round.ratio());
        }
        rows.add(row(op, inFlight, done));
        threadRows.add(threadRow(op, inFlight, aLabel, done.stream().map(Round::a).toList()));
        threadRows.add(threadRow(op, inFlight, bLabel, done.stream().map(Round::b).toList()));
    }

    private static Side side(Target target, HttpClient http, double warmup, double seconds) throws Exception {
        LoadHarness.Measured measured = LoadHarness.measure(target.server(), http, target.metricsPort(), warmup, seconds,
                null, target.run());
        return new Side(measured.result(), measured.cpuMillisPerOp(), measured.threadCpuMillisPerOp(),
                measured.peakHeapMiB());
    }

    /** One side over all its windows: throughput and CPU as totals over totals, not averages of windows. */
    private record Totals(long operations, double seconds, double cpuMillis, double peakHeapMiB, long errors,
                          ClosedLoop.Result latencies) {
        static Totals of(List<Side> windows) {
            long operations = 0;
            double seconds = 0;
            double cpuMillis = 0;
            double peakHeap = 0;
            long errors = 0;
            for (Side window : windows) {
                operations += window.result().operations();
                seconds += window.result().seconds();
                cpuMillis += window.cpuMillisPerOp() * window.result().operations();
                peakHeap = Math.max(peakHeap, window.peakHeapMiB());
                errors += window.result().errors();
            }
            long[] all = windows.stream().flatMapToLong(w -> java.util.Arrays.stream(w.result().sortedLatencyNanos())).sorted()
                    .toArray();
            return new Totals(operations, seconds, cpuMillis, peakHeap, errors, new ClosedLoop.Result(operations, errors,
                    seconds, all));
        }

        double opsPerSecond() {
            return operations / seconds;
        }

        double cpuMillisPerOp() {
            return cpuMillis / operations;
        }
    }

    private static String row(String op, int inFlight, List<Round> rounds) {
        Totals a = Totals.of(rounds.stream().map(Round::a).toList());
        Totals b = Totals.of(rounds.stream().map(Round::b).toList());
        String ratios = String.join(", ", rounds.stream().map(r -> String.format(Locale.ROOT, "%.2f", r.ratio())).toList());
        return String.format(Locale.ROOT, "| %s | %d | %d | %.0f | %.0f | %.2fx | %s | %.3f | %.3f | %.2f / %.2f | %.2f / %.2f "
                        + "| %.0f | %.0f | %d |",
                op, inFlight, rounds.size(), a.opsPerSecond(), b.opsPerSecond(),
                a.opsPerSecond() / b.opsPerSecond(), ratios, a.cpuMillisPerOp(), b.cpuMillisPerOp(),
                a.latencies().percentileMillis(50), a.latencies().percentileMillis(99),
                b.latencies().percentileMillis(50), b.latencies().percentileMillis(99),
                a.peakHeapMiB(), b.peakHeapMiB(), a.errors() + b.errors());
    }

    /** A side's CPU per operation by thread group, over all its windows (total time over total operations). */
    private static String threadRow(String op, int inFlight, String side, List<Side> windows) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %d | %s |", op, inFlight, side));
        long operations = windows.stream().mapToLong(w -> w.result().operations()).sum();
        for (String group : ChildProcess.THREAD_GROUPS) {
            double millis = 0;
            for (Side window : windows) {
                millis += window.threadCpuMillisPerOp().getOrDefault(group, 0.0) * window.result().operations();
            }
            row.append(String.format(Locale.ROOT, " %.3f |", millis / operations));
        }
        return row.toString();
    }

    String markdown(double warmup, double seconds) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%n%s Windows of %.0f s (after %.0f s warm-up) alternate between them, "
                + "each round starting with the other side. Throughput is over all windows of a side; CPU is the server's "
                + "per operation.%n%n", what, seconds, warmup));
        out.append(String.format(Locale.ROOT, "| operation | in flight | rounds | %1$s ops/s | %2$s ops/s | ratio | "
                + "ratio per round | %1$s CPU ms/op | %2$s CPU ms/op | %1$s p50 / p99 ms | %2$s p50 / p99 ms "
                + "| %1$s heap peak MiB | %2$s heap peak MiB | errors |%n", aLabel, bLabel));
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        rows.forEach(row -> out.append(row).append('\n'));
        out.append(String.format(Locale.ROOT, "%nServer CPU per operation by thread group, ms (as in the main report):%n%n"));
        out.append("| operation | in flight | server | ").append(String.join(" | ", ChildProcess.THREAD_GROUPS)).append(" |\n");
        out.append("|---|---|---|").append("---|".repeat(ChildProcess.THREAD_GROUPS.size())).append("\n");
        threadRows.forEach(row -> out.append(row).append('\n'));
        return out.toString();
    }
}
