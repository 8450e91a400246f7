package io.hsmkms.bench;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code --versus-one-key ROUNDS}: the service holding and using {@code --keys} keys against a second server
 * that holds and uses one, both alive for the whole run, measured in alternating windows (many keys, one key,
 * many keys, ...). Separate runs, even back to back, moved by a third on this shared machine (the echo
 * baseline alone did), more than the effect asked about; alternating windows put both sides under the same
 * conditions, and the per-round ratios show how far to trust the total.
 */
final class OneKeyComparison {
    /** One server's side of a round. */
    record Side(ClosedLoop.Result result, double cpuMillisPerOp, java.util.Map<String, Double> threadCpuMillisPerOp,
                double peakHeapMiB) {}

    record Round(Side many, Side one) {
        double ratio() {
            return many.result().opsPerSecond() / one.result().opsPerSecond();
        }
    }

    /** One server with its measured operation. */
    record Target(ChildProcess server, int metricsPort, LoadHarness.Run run) {}

    private final int keys;
    private final List<String> rows = new ArrayList<>();
    private final List<String> threadRows = new ArrayList<>();

    OneKeyComparison(int keys) {
        this.keys = keys;
    }

    void measure(String op, int inFlight, int rounds, Target many, Target one, HttpClient http, double warmup,
                 double seconds) throws Exception {
        List<Round> done = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            Side m = side(many, http, warmup, seconds);
            Side o = side(one, http, warmup, seconds);
            done.add(new Round(m, o));
            System.err.printf(Locale.ROOT, "%-18s %3d in flight, round %d: %,d keys %8.0f ops/s, 1 key %8.0f (%.2fx)%n", op,
                    inFlight, r + 1, keys, m.result().opsPerSecond(), o.result().opsPerSecond(), done.getLast().ratio());
        }
        rows.add(row(op, inFlight, done));
        threadRows.add(threadRow(op, inFlight, "%,d keys".formatted(keys), done.stream().map(Round::many).toList()));
        threadRows.add(threadRow(op, inFlight, "1 key", done.stream().map(Round::one).toList()));
    }

    private static Side side(Target target, HttpClient http, double warmup, double seconds) throws Exception {
        LoadHarness.Measured measured = LoadHarness.measure(target.server(), http, target.metricsPort(), warmup, seconds,
                null, target.run());
        return new Side(measured.result(), measured.cpuMillisPerOp(), measured.threadCpuMillisPerOp(),
                measured.peakHeapMiB());
    }

    /** One side over all its windows: throughput and CPU as totals over totals, not averages of windows. */
    private record Totals(long operations, double seconds, double cpuMillis, double peakHeapMiB, long errors) {
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
            return new Totals(operations, seconds, cpuMillis, peakHeap, errors);
        }

        double opsPerSecond() {
            return operations / seconds;
        }

        double cpuMillisPerOp() {
            return cpuMillis / operations;
        }
    }

    private static String row(String op, int inFlight, List<Round> rounds) {
        Totals many = Totals.of(rounds.stream().map(Round::many).toList());
        Totals one = Totals.of(rounds.stream().map(Round::one).toList());
        String ratios = String.join(", ", rounds.stream().map(r -> String.format(Locale.ROOT, "%.2f", r.ratio())).toList());
        return String.format(Locale.ROOT, "| %s | %d | %d | %.0f | %.0f | %.2fx | %s | %.3f | %.3f | %.0f | %.0f | %d |",
                op, inFlight, rounds.size(), many.opsPerSecond(), one.opsPerSecond(),
                many.opsPerSecond() / one.opsPerSecond(), ratios, many.cpuMillisPerOp(), one.cpuMillisPerOp(),
                many.peakHeapMiB(), one.peakHeapMiB(), many.errors() + one.errors());
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
        out.append(String.format(Locale.ROOT, "%n%,d keys against 1 key: two servers side by side, each on its own token and "
                + "store; windows of %.0f s (after %.0f s warm-up) alternate between them, the many-key server first in "
                + "each round. Throughput is over all windows of a side; CPU is the server's per operation.%n%n", keys,
                seconds, warmup));
        out.append(String.format(Locale.ROOT, "| operation | in flight | rounds | %,d keys ops/s | 1 key ops/s | ratio | "
                + "ratio per round | %,d keys CPU ms/op | 1 key CPU ms/op | %,d keys heap peak MiB | 1 key heap peak MiB "
                + "| errors |%n", keys, keys, keys));
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        rows.forEach(row -> out.append(row).append('\n'));
        out.append(String.format(Locale.ROOT, "%nServer CPU per operation by thread group, ms (as in the main report):%n%n"));
        out.append("| operation | in flight | server | ").append(String.join(" | ", ChildProcess.THREAD_GROUPS)).append(" |\n");
        out.append("|---|---|---|").append("---|".repeat(ChildProcess.THREAD_GROUPS.size())).append("\n");
        threadRows.forEach(row -> out.append(row).append('\n'));
        return out.toString();
    }
}
