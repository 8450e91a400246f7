package io.hsmkms.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A JVM the harness starts (the server, the echo server), with what it costs: CPU time and heap. */
final class ChildProcess implements AutoCloseable {
    private static final Pattern HEAP = Pattern.compile("^jvm_memory_used_bytes\\{area=\"heap\",[^}]*} (\\S+)$", Pattern.MULTILINE);
    private static final long CLOCK_TICKS_PER_SECOND = clockTicks();

    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> port = new CompletableFuture<>();
    private final Pattern listening;

    private ChildProcess(List<String> command, Map<String, String> env, Pattern listening) throws IOException {
        this.listening = listening;
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        process = builder.start();
        Thread reader = new Thread(this::read, "child-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code command} and waits for a line matching {@code listening} (group 1: the port). */
    static ChildProcess start(List<String> command, Map<String, String> env, Pattern listening) throws Exception {
        ChildProcess child = new ChildProcess(command, env, listening);
        try {
            child.port.get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            child.close();
            throw new IllegalStateException("did not start: " + String.join("\n", child.output), e);
        }
        return child;
    }

    long pid() {
        return process.pid();
    }

    int port() {
        return port.join();
    }

    String output() {
        return String.join("\n", output);
    }

    /** User + system CPU time the process has used so far, from /proc (Linux). */
    double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / (double) CLOCK_TICKS_PER_SECOND;
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    /**
     * Every server thread seen so far with its group and last reading. A thread that ends (the control
     * plane's pool lets idle threads go after 60 s) keeps counting what it had used when last seen; summing
     * live threads only made a group's CPU in a window come out negative when one of its threads ended.
     */
    private final Map<String, Map.Entry<String, Double>> threadsSeen = new java.util.HashMap<>();

    /** The groups of server threads that {@link #threadCpuSeconds} adds up, in report order. */
    static final List<String> THREAD_GROUPS = List.of("handlers", "transport", "audit writer", "audit release", "JIT", "GC",
            "other");

    /**
     * User + system CPU time per group of the process's threads, from /proc/PID/task (Linux): where the
     * server's time goes, native code and kernel included. A thread that ended counts with its last reading.
     */
    synchronized Map<String, Double> threadCpuSeconds() {
        Map<String, Double> groups = new java.util.LinkedHashMap<>();
        THREAD_GROUPS.forEach(g -> groups.put(g, 0.0));
        try (var tasks = Files.list(Path.of("/proc", Long.toString(process.pid()), "task"))) {
            for (Path task : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException gone) {
                    continue;
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                double seconds = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / (double) CLOCK_TICKS_PER_SECOND;
                // Thread id and start time: the kernel reuses ids.
                threadsSeen.put(task.getFileName() + "@" + fields[19], Map.entry(threadGroup(name), seconds));
            }
        } catch (IOException e) {
            return Map.of();
        }
        threadsSeen.values().forEach(reading -> groups.merge(reading.getKey(), reading.getValue(), Double::sum));
        return groups;
    }

    /** Thread names as the kernel keeps them (15 characters) mapped to what the threads do in the server. */
    private static String threadGroup(String name) {
        if (name.startsWith("kms-handler") || name.startsWith("kms-crypto") || name.startsWith("grpc-default-ex")) {
            return "handlers";
        }
        if (name.startsWith("grpc-default-wo") || name.startsWith("grpc-nio-worker") || name.contains("epoll")) {
            return "transport";
        }
        if (name.startsWith("audit-writer")) {
            return "audit writer";
        }
        if (name.startsWith("audit-release")) {
            return "audit release"; // sends the responses the trail has made durable: handler work that moved
        }
        if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
            return "JIT";
        }
        if (name.startsWith("GC ") || name.startsWith("G1 ")) {
            return "GC";
        }
        return "other";
    }

    /** Heap in use now, summed over the pools, from the server's Prometheus endpoint. */
    static double heapBytes(HttpClient http, int metricsPort) {
        try {
            String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = HEAP.matcher(body);
            double sum = 0;
            while (m.find()) {
                sum += Double.parseDouble(m.group(1));
            }
            return sum;
        } catch (IOException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private void read() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (output.size() < 10_000) {
                    output.add(line);
                }
                Matcher m = listening.matcher(line);
                if (m.find()) {
                    port.complete(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        port.completeExceptionally(new IllegalStateException("process exited"));
    }

    private static long clockTicks() {
        try {
            Process getconf = new ProcessBuilder("getconf", "CLK_TCK").start();
            String out = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            getconf.waitFor();
            return Long.parseLong(out);
        } catch (Exception e) {
            return 100;
        }
    }
}
