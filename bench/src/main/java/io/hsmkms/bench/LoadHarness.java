package io.hsmkms.bench;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.hsmkms.proto.v1.CreateAliasRequest;
import io.hsmkms.proto.v1.CreateGrantRequest;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.GrantOperation;
import io.hsmkms.proto.v1.PutKeyPolicyRequest;
import io.hsmkms.proto.v1.DataKeySpec;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.ReEncryptRequest;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The load harness behind {@code bin/bench}. In one run, on one token: the service over gRPC (a
 * separate server process, mutual TLS, the development admin), the naive in-process JCA path on the
 * same token, and a bare gRPC echo server (separate process, same transport and messages). Prints a
 * Markdown report with service/baseline ratios, so the figures hold on a noisy machine.
 *
 * <p>Usage: {@code LoadHarness --data DIR [--seconds 10] [--warmup 3] [--server-warmup 10]
 * [--concurrency 1,4,16,64] [--ops encrypt-32,...] [--keys N] [--policy-bytes B] [--grants G]
 * [--caller admin|grantee] [--key-ref id|alias] [--jfr OUTDIR] [--server-jvm-args "-Xms256m -Xmx256m"] [--versus-one-key ROUNDS | --versus-build CHECKOUT
 * [--rounds 6]]}; DIR is prepared by bin/bench (token, PIN file, development PKI). Before the
 * matrix every operation runs unmeasured for --server-warmup seconds. {@code --caller grantee} measures
 * the development app role, which no policy allows for this context: a grant on the first key (created
 * after the {@code --grants} others) is what lets it in. {@code --key-ref alias} gives every key an alias and names
 * keys by alias in Encrypt, GenerateDataKey and ReEncrypt requests. {@code --jfr OUTDIR} records each measured
 * service window with Java Flight Recorder (profile settings) and reports where the Java samples fall.
 * {@code --versus-one-key ROUNDS} replaces the baselines with a second server holding one key, measured in
 * alternating windows against the one holding {@code --keys}; {@code --versus-build CHECKOUT} does the same
 * against a server built in another checkout (an A/B of two commits), with the same workload ({@link SideBySide}).
 */
public final class LoadHarness {
    private static final String DEPLOYED_HEAP = "-Xms256m -Xmx256m";
    private static final Pattern SERVER_LISTENING = Pattern.compile("hsmkms listening on [^:]+:(\\d+)");
    private static final Pattern METRICS_PORT = Pattern.compile("metrics [^:]+:(\\d+)/metrics");
    private static final Pattern ECHO_LISTENING = Pattern.compile("echo listening on (\\d+)");
    /** A realistic context: what a service would bind its data keys to. */
    private static final Map<String, String> CONTEXT = Map.of("service", "orders", "tenant", "acme-corp",
            "record", "invoice/2026/11/000123");
    private static final String APP_ROLE = "arn:hsmkms:iam::111122223333:role/app";
    private static final List<String> ALL_OPS = List.of("encrypt-32", "encrypt-4096", "decrypt-32", "decrypt-4096",
            "generate-data-key", "re-encrypt-32");

    private LoadHarness() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options;
        try {
            options = options(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bin/bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        Path data = Path.of(required(options, "data"));
        double seconds = Double.parseDouble(options.getOrDefault("seconds", "10"));
        double warmup = Double.parseDouble(options.getOrDefault("warmup", "3"));
        int[] concurrency = Arrays.stream(options.getOrDefault("concurrency", "1,4,16,64").split(","))
                .mapToInt(Integer::parseInt).toArray();
        List<String> ops = List.of(options.getOrDefault("ops", String.join(",", ALL_OPS)).split(","));
        Path pki = data.resolve("pki");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path repo = Path.of(required(options, "repo"));

        Map<String, String> serverEnv = new LinkedHashMap<>();
        serverEnv.put("HSMKMS_DATA_DIR", data.toString());
        serverEnv.put("HSMKMS_PORT", "0");
        serverEnv.put("HSMKMS_METRICS_ADDRESS", "127.0.0.1:0");
        serverEnv.put("HSMKMS_TLS_CERT_FILE", pki.resolve("server.pem").toString());
        serverEnv.put("HSMKMS_TLS_KEY_FILE", pki.resolve("server.key").toString());
        serverEnv.put("HSMKMS_TLS_CLIENT_CA_FILE", pki.resolve("ca.pem").toString());
        serverEnv.put("HSMKMS_IDENTITIES_FILE", data.resolve("identities.json").toString());
        List<String> serverCommand = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        // The heap docs/deployment.md prescribes: with -Xmx alone G1 settled, on some server starts, into a small heap
        // with an old-generation cycle every few young ones, and a run measured that start instead of the service.
        String serverJvmArgs = options.getOrDefault("server-jvm-args", DEPLOYED_HEAP);
        serverCommand.addAll(List.of(serverJvmArgs.split(" ")));
        serverCommand.addAll(List.of("-jar", repo.resolve("server/target/hsmkms-server.jar").toString()));
        String classpath = System.getProperty("java.class.path");

        try (ChildProcess server = ChildProcess.start(serverCommand, serverEnv, SERVER_LISTENING);
             ChildProcess echo = ChildProcess.start(List.of(java, "-Xmx256m", "-cp", classpath,
                     EchoServer.class.getName(), pki.toString()), Map.of(), ECHO_LISTENING)) {
            int metricsPort = metricsPort(server);
            ManagedChannel adminChannel = channel(pki, server.port(), "admin");
            ManagedChannel echoChannel = channel(pki, echo.port(), "admin");
            Workload workload = Workload.prepare(adminChannel, Integer.parseInt(options.getOrDefault("keys", "1")),
                    Integer.parseInt(options.getOrDefault("policy-bytes", "0")),
                    Integer.parseInt(options.getOrDefault("grants", "0")), byAlias(options));
            ManagedChannel kmsChannel = switch (options.getOrDefault("caller", "admin")) {
                case "admin" -> adminChannel;
                case "grantee" -> {
                    workload.grantTo(adminChannel, APP_ROLE);
                    yield channel(pki, server.port(), "app");
                }
                default -> throw new IllegalArgumentException("--caller is admin or grantee");
            };
            JcaBaseline jca = new JcaBaseline(data.resolve("softhsm/user.pin"), new byte[workload.aadLength()]);
            HttpClient http = HttpClient.newHttpClient();
            // The JIT must have compiled every path before the first measured cell, else the first
            // operation of the matrix pays for all of them.
            double serverWarmup = Double.parseDouble(options.getOrDefault("server-warmup", "10"));
            for (String op : ops) {
                ClosedLoop.run(workload.operation(kmsChannel, op), 16, 0, serverWarmup);
            }
            if (options.containsKey("versus-one-key") || options.containsKey("versus-build")) {
                System.out.println(sideBySide(workload, kmsChannel, server, metricsPort, http, serverCommand, serverEnv,
                        data, repo, pki, options, ops, concurrency, serverWarmup, warmup, seconds));
                adminChannel.shutdownNow();
                echoChannel.shutdownNow();
                return;
            }
            Path jfrDir = options.containsKey("jfr") ? Path.of(options.get("jfr")).toAbsolutePath() : null;
            if (jfrDir != null) {
                Files.createDirectories(jfrDir);
            }
            Report report = new Report(seconds, warmup, serverJvmArgs);
            for (int inFlight : concurrency) {
                for (String op : ops) {
                    Path recording = jfrDir == null ? null : jfrDir.resolve(op + "-" + inFlight + ".jfr");
                    Measured service = measure(server, http, metricsPort, warmup, seconds, recording,
                            () -> ClosedLoop.run(workload.operation(kmsChannel, op), inFlight, warmup, seconds));
                    ClosedLoop.Result naive = jca(jca, workload, op, inFlight, warmup, seconds);
                    ClosedLoop.Result grpcFloor = op.startsWith("encrypt") || op.startsWith("decrypt")
                            ? ClosedLoop.run(workload.echo(echoChannel, op), inFlight, warmup, seconds) : null;
                    report.add(op, inFlight, service, naive, grpcFloor);
                    System.err.printf(Locale.ROOT, "%-18s %3d in flight: service %8.0f ops/s, JCA %8.0f, echo %s%n", op,
                            inFlight, service.result().opsPerSecond(), naive == null ? Double.NaN : naive.opsPerSecond(),
                            grpcFloor == null ? "-" : String.format(Locale.ROOT, "%.0f", grpcFloor.opsPerSecond()));
                }
            }
            kmsChannel.shutdownNow();
            adminChannel.shutdownNow();
            echoChannel.shutdownNow();
            System.out.println(report.markdown());
        }
    }

    /**
     * The {@code --versus-one-key} and {@code --versus-build} reports: a second server on a token and store of its
     * own, holding one key (this build) or the same workload (the other checkout's build), and measured windows
     * alternating between the two (see {@link SideBySide}).
     */
    private static String sideBySide(Workload workload, ManagedChannel channel, ChildProcess server, int metricsPort,
                                      HttpClient http, List<String> serverCommand, Map<String, String> serverEnv,
                                      Path data, Path repo, Path pki, Map<String, String> options, List<String> ops,
                                      int[] concurrency, double serverWarmup, double warmup, double seconds)
            throws Exception {
        if (options.containsKey("caller") || options.containsKey("jfr")) {
            throw new IllegalArgumentException("side-by-side runs measure the admin caller without --jfr");
        }
        boolean versusBuild = options.containsKey("versus-build");
        if (versusBuild && options.containsKey("versus-one-key")) {
            throw new IllegalArgumentException("--versus-one-key or --versus-build, not both");
        }
        int rounds = Integer.parseInt(versusBuild ? options.getOrDefault("rounds", "6") : options.get("versus-one-key"));
        Path otherRepo = versusBuild ? Path.of(options.get("versus-build")).toAbsolutePath().normalize() : repo;
        Path otherJar = otherRepo.resolve("server/target/hsmkms-server.jar");
        if (!Files.isRegularFile(otherJar)) {
            throw new IllegalArgumentException("no " + otherJar + ": build that checkout first (mvn -DskipTests package)");
        }
        List<String> otherCommand = new ArrayList<>(serverCommand);
        otherCommand.set(otherCommand.size() - 1, otherJar.toString());
        int otherKeys = versusBuild ? workload.keyIds().size() : 1;
        Path otherData = data.resolve("other");
        Process init = new ProcessBuilder("bash", repo.resolve("softhsm-config/init-token.sh").toString(),
                otherData.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (init.waitFor() != 0) {
            throw new IllegalStateException("could not initialise the second server's token");
        }
        Map<String, String> env = new LinkedHashMap<>(serverEnv);
        env.put("HSMKMS_DATA_DIR", otherData.toString());
        env.put("SOFTHSM2_CONF", otherData.resolve("softhsm/softhsm2.conf").toString());
        env.put("HSMKMS_PIN_FILE", otherData.resolve("softhsm/user.pin").toString());
        try (ChildProcess otherServer = ChildProcess.start(otherCommand, env, SERVER_LISTENING)) {
            int otherMetricsPort = metricsPort(otherServer);
            ManagedChannel otherChannel = channel(pki, otherServer.port(), "admin");
            try {
                Workload other = Workload.prepare(otherChannel, otherKeys,
                        Integer.parseInt(options.getOrDefault("policy-bytes", "0")),
                        Integer.parseInt(options.getOrDefault("grants", "0")), byAlias(options));
                for (String op : ops) {
                    ClosedLoop.run(other.operation(otherChannel, op), 16, 0, serverWarmup);
                }
                SideBySide comparison = versusBuild
                        ? new SideBySide("this build", "other build", "This build (" + repo + ") against the build in "
                                + otherRepo + ": two servers, each on its own token and store, the same workload.")
                        : new SideBySide("%,d keys".formatted(workload.keyIds().size()), "1 key", "%,d keys against 1 key: "
                                .formatted(workload.keyIds().size())
                                + "two servers of this build, each on its own token and store.");
                for (int inFlight : concurrency) {
                    for (String op : ops) {
                        comparison.measure(op, inFlight, rounds,
                                new SideBySide.Target(server, metricsPort,
                                        () -> ClosedLoop.run(workload.operation(channel, op), inFlight, warmup, seconds)),
                                new SideBySide.Target(otherServer, otherMetricsPort,
                                        () -> ClosedLoop.run(other.operation(otherChannel, op), inFlight, warmup, seconds)),
                                http, warmup, seconds);
                    }
                }
                return comparison.markdown(warmup, seconds);
            } finally {
                otherChannel.shutdownNow();
            }
        }
    }

    /**
     * A service run with the server's CPU time per operation (in all, and per thread group), its peak heap
     * over the measured period, and, when profiled, the share of Java samples per component.
     */
    record Measured(ClosedLoop.Result result, double cpuMillisPerOp, Map<String, Double> threadCpuMillisPerOp,
                    double peakHeapMiB, Map<String, Double> javaSampleShares) {}

    interface Run {
        ClosedLoop.Result get() throws Exception;
    }

    static Measured measure(ChildProcess server, HttpClient http, int metricsPort, double warmup, double seconds,
                                    Path recording, Run run) throws Exception {
        AtomicLong peakHeap = new AtomicLong();
        double[] cpu = new double[2];
        List<Map<String, Double>> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
        ScheduledExecutorService sampler = Executors.newScheduledThreadPool(1);
        // From the server's performance counters where it has them: scraping its /metrics this often costs it CPU.
        Optional<HeapCounters> counters = HeapCounters.of(server.pid());
        sampler.scheduleAtFixedRate(() -> peakHeap.accumulateAndGet(counters.isPresent() ? counters.get().usedBytes()
                : (long) ChildProcess.heapBytes(http, metricsPort), Math::max), 0, 500, TimeUnit.MILLISECONDS);
        // Server CPU over exactly the measured window, not the warm-up.
        sampler.schedule(() -> {
            cpu[0] = server.cpuSeconds();
            threads.add(server.threadCpuSeconds());
            if (recording != null) {
                // JDK 25's CPU-time sampler (JEP 509) as well: a sample per 2 ms of a thread's CPU, native code and
                // system calls included, where the execution sampler sees only threads running Java at its tick.
                jcmd(server, "JFR.start", "name=bench", "settings=profile", "jdk.CPUTimeSample#enabled=true",
                        "jdk.CPUTimeSample#throttle=2ms");
            }
        }, (long) (warmup * 1000), TimeUnit.MILLISECONDS);
        var end = sampler.schedule(() -> {
            cpu[1] = server.cpuSeconds();
            threads.add(server.threadCpuSeconds());
            if (recording != null) {
                jcmd(server, "JFR.stop", "name=bench", "filename=" + recording);
            }
        }, (long) ((warmup + seconds) * 1000), TimeUnit.MILLISECONDS);
        ClosedLoop.Result result;
        try {
            result = run.get();
            end.get(60, TimeUnit.SECONDS);
        } finally {
            sampler.shutdownNow();
        }
        double cpuMillisPerOp = result.operations() == 0 ? Double.NaN : (cpu[1] - cpu[0]) * 1000 / result.operations();
        Map<String, Double> perThread = new LinkedHashMap<>();
        if (threads.size() == 2 && result.operations() > 0) {
            threads.get(1).forEach((group, atEnd) -> perThread.put(group,
                    (atEnd - threads.get(0).getOrDefault(group, 0.0)) * 1000 / result.operations()));
        }
        Map<String, Double> shares = recording != null && Files.exists(recording)
                ? JfrBreakdown.shares(recording) : Map.of();
        return new Measured(result, cpuMillisPerOp, perThread, peakHeap.get() / (1024.0 * 1024.0), shares);
    }

    /** The port of the server's Prometheus endpoint, from its log. */
    private static int metricsPort(ChildProcess server) {
        return Integer.parseInt(METRICS_PORT.matcher(server.output()).results().findFirst()
                .orElseThrow(() -> new IllegalStateException("no metrics port in the server log")).group(1));
    }

    /** Runs a diagnostic command in the server (the JDK's jcmd), waiting for it to finish. */
    private static void jcmd(ChildProcess server, String... command) {
        List<String> line = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(server.pid())));
        line.addAll(List.of(command));
        try {
            Process jcmd = new ProcessBuilder(line).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!jcmd.waitFor(30, TimeUnit.SECONDS) || jcmd.exitValue() != 0) {
                System.err.println("jcmd " + String.join(" ", command) + " failed");
            }
        } catch (IOException e) {
            System.err.println("jcmd " + String.join(" ", command) + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ClosedLoop.Result jca(JcaBaseline jca, Workload workload, String op, int threads, double warmup,
                                        double seconds) throws InterruptedException {
        byte[] payload = new byte[workload.payloadSize(op)];
        return switch (op.replaceAll("-\\d+$", "")) {
            case "encrypt" -> ClosedLoop.runBlocking(() -> jca.encrypt(payload), threads, warmup, seconds);
            case "decrypt" -> {
                byte[] sealed = sealed(jca, payload);
                yield ClosedLoop.runBlocking(() -> jca.decrypt(sealed), threads, warmup, seconds);
            }
            case "generate-data-key" -> ClosedLoop.runBlocking(jca::generateDataKey, threads, warmup, seconds);
            case "re-encrypt" -> {
                byte[] sealed = sealed(jca, payload);
                yield ClosedLoop.runBlocking(() -> jca.encrypt(jca.decrypt(sealed)), threads, warmup, seconds);
            }
            default -> throw new IllegalArgumentException("unknown operation " + op);
        };
    }

    private static byte[] sealed(JcaBaseline jca, byte[] payload) {
        try {
            return jca.encrypt(payload);
        } catch (Exception e) {
            throw new IllegalStateException("the baseline could not encrypt", e);
        }
    }

    /**
     * The keys and prepared requests every run uses. Scaling knobs: Encrypt spreads its calls over
     * {@code keys} keys; every key gets a key policy of about {@code policyBytes} (0: the default
     * policy) whose only statement that matches comes last; the first key gets {@code grants} grants
     * for other principals (they are read on every grant-capable call).
     */
    record Workload(List<String> keyIds, List<String> keyRefs, Map<Integer, ByteString> blobs, AtomicLong next) {
        static Workload prepare(ManagedChannel channel, int keys, int policyBytes, int grants, boolean byAlias) {
            var kms = KeyManagementServiceGrpc.newBlockingStub(channel);
            List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
            long started = System.nanoTime();
            java.util.concurrent.atomic.AtomicInteger made = new java.util.concurrent.atomic.AtomicInteger();
            // 16 at a time: the audit trail's group commit then shares one fsync between creates, as in service.
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
            try {
                List<java.util.concurrent.Future<?>> creators = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    creators.add(pool.submit(() -> {
                        while (made.getAndIncrement() < keys) {
                            String id = kms.createKey(CreateKeyRequest.newBuilder().setDescription("load harness").build())
                                    .getKeyMetadata().getKeyId();
                            if (policyBytes > 0) {
                                kms.putKeyPolicy(PutKeyPolicyRequest.newBuilder().setKeyId(id).setPolicyName("default")
                                        .setPolicy(policy(policyBytes)).build());
                            }
                            ids.add(id);
                            int n = ids.size();
                            if (n % 10_000 == 0 || n == keys) {
                                // Key creation is part of what scales with the key count: say how long it took.
                                double seconds = (System.nanoTime() - started) / 1e9;
                                System.err.printf("created %,d keys in %.1f s (%.0f per second)%n", n, seconds, n / seconds);
                            }
                        }
                        return null;
                    }));
                }
                for (var creator : creators) {
                    creator.get();
                }
            } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("creating the keys failed", e);
            } finally {
                pool.shutdownNow();
            }
            for (int g = 0; g < grants; g++) {
                kms.createGrant(CreateGrantRequest.newBuilder().setKeyId(ids.getFirst())
                        .setGranteePrincipal("arn:hsmkms:iam::111122223333:role/grantee-" + g)
                        .addOperations(GrantOperation.GRANT_OPERATION_DECRYPT).build());
            }
            List<String> refs = ids;
            if (byAlias) {
                refs = new ArrayList<>();
                for (int i = 0; i < ids.size(); i++) {
                    String alias = "alias/bench-" + i;
                    kms.createAlias(CreateAliasRequest.newBuilder().setAliasName(alias).setTargetKeyId(ids.get(i)).build());
                    refs.add(alias);
                }
            }
            Map<Integer, ByteString> blobs = new LinkedHashMap<>();
            for (int size : new int[] {32, 4096}) {
                blobs.put(size, kms.encrypt(encrypt(ids.getFirst(), size)).getCiphertextBlob());
            }
            return new Workload(List.copyOf(ids), List.copyOf(refs), blobs, new AtomicLong());
        }

        /** Lets {@code grantee} use the first key for every measured operation, through a grant alone. */
        void grantTo(ManagedChannel channel, String grantee) {
            KeyManagementServiceGrpc.newBlockingStub(channel).createGrant(CreateGrantRequest.newBuilder()
                    .setKeyId(keyIds.getFirst()).setGranteePrincipal(grantee)
                    .addOperations(GrantOperation.GRANT_OPERATION_ENCRYPT)
                    .addOperations(GrantOperation.GRANT_OPERATION_DECRYPT)
                    .addOperations(GrantOperation.GRANT_OPERATION_GENERATE_DATA_KEY)
                    .addOperations(GrantOperation.GRANT_OPERATION_RE_ENCRYPT_FROM)
                    .addOperations(GrantOperation.GRANT_OPERATION_RE_ENCRYPT_TO).build());
        }

        /** A key policy of about {@code bytes}: conditional statements for other roles, then the root's. */
        private static String policy(int bytes) {
            StringBuilder json = new StringBuilder("{\"Version\":\"2012-10-17\",\"Statement\":[");
            for (int i = 0; json.length() < bytes - 200; i++) {
                json.append("{\"Sid\":\"Team").append(i).append("\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":")
                        .append("\"arn:hsmkms:iam::111122223333:role/team-").append(i).append("\"},\"Action\":\"kms:Decrypt\",")
                        .append("\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"kms:EncryptionContext:tenant\":\"t-")
                        .append(i).append("-*\"}}},");
            }
            return json.append("{\"Sid\":\"Root\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":")
                    .append("\"arn:hsmkms:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}").toString();
        }

        /** The service's AAD is its 34-byte header plus the canonical context; the naive path gets as many bytes. */
        int aadLength() {
            int context = 4;
            for (Map.Entry<String, String> e : CONTEXT.entrySet()) {
                context += 4 + e.getKey().length() + 4 + e.getValue().length();
            }
            return 34 + context;
        }

        int payloadSize(String op) {
            return op.matches(".*-\\d+$") ? Integer.parseInt(op.replaceAll("^.*-", "")) : 32;
        }

        ClosedLoop.Operation operation(ManagedChannel channel, String op) {
            var stub = KeyManagementServiceGrpc.newStub(channel);
            int size = payloadSize(op);
            return switch (op.replaceAll("-\\d+$", "")) {
                case "encrypt" -> {
                    List<EncryptRequest> requests = keyRefs.stream().map(ref -> encrypt(ref, size)).toList();
                    yield done -> stub.encrypt(requests.get((int) (next.getAndIncrement() % requests.size())),
                            observer(done));
                }
                case "decrypt" -> {
                    DecryptRequest request = DecryptRequest.newBuilder().setCiphertextBlob(blobs.get(size))
                            .putAllEncryptionContext(CONTEXT).build();
                    yield done -> stub.decrypt(request, observer(done));
                }
                case "generate-data-key" -> {
                    GenerateDataKeyRequest request = GenerateDataKeyRequest.newBuilder().setKeyId(keyRefs.getFirst())
                            .setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).putAllEncryptionContext(CONTEXT).build();
                    yield done -> stub.generateDataKey(request, observer(done));
                }
                case "re-encrypt" -> {
                    ReEncryptRequest request = ReEncryptRequest.newBuilder().setCiphertextBlob(blobs.get(size))
                            .putAllSourceEncryptionContext(CONTEXT).setDestinationKeyId(keyRefs.getFirst())
                            .putAllDestinationEncryptionContext(CONTEXT).build();
                    yield done -> stub.reEncrypt(request, observer(done));
                }
                default -> throw new IllegalArgumentException("unknown operation " + op);
            };
        }

        /** The same request as Encrypt, to a server that only answers. */
        ClosedLoop.Operation echo(ManagedChannel channel, String op) {
            EncryptRequest request = encrypt(keyRefs.getFirst(), payloadSize(op));
            return done -> ClientCalls.asyncUnaryCall(channel.newCall(EchoServer.ENCRYPT, CallOptions.DEFAULT), request,
                    observer(done));
        }

        private static EncryptRequest encrypt(String keyId, int size) {
            return EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFrom(new byte[size]))
                    .putAllEncryptionContext(CONTEXT).build();
        }
    }

    private static <T> StreamObserver<T> observer(Consumer<Throwable> done) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
            }

            @Override
            public void onError(Throwable t) {
                done.accept(t);
            }

            @Override
            public void onCompleted() {
                done.accept(null);
            }
        };
    }

    /** A mutual-TLS channel as one of the development identities (bin/lib/dev-identities.json). */
    private static ManagedChannel channel(Path pki, int port, String identity) throws Exception {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).overrideAuthority("localhost")
                .sslContext(GrpcSslContexts.forClient().trustManager(pki.resolve("ca.pem").toFile())
                        .keyManager(pki.resolve(identity + ".pem").toFile(), pki.resolve(identity + ".key").toFile()).build())
                .build();
    }

    private static boolean byAlias(Map<String, String> options) {
        return switch (options.getOrDefault("key-ref", "id")) {
            case "id" -> false;
            case "alias" -> true;
            default -> throw new IllegalArgumentException("--key-ref is id or alias");
        };
    }

    /** The options a user gives bin/bench. */
    private static final List<String> USER_OPTIONS = List.of("seconds", "warmup", "server-warmup", "concurrency", "ops",
            "keys", "policy-bytes", "grants", "caller", "key-ref", "jfr", "server-jvm-args", "versus-one-key",
            "versus-build", "rounds");
    /** Every option the harness reads: bin/bench passes --data and --repo itself. */
    private static final List<String> KNOWN_OPTIONS = java.util.stream.Stream.concat(java.util.stream.Stream.of("data", "repo"),
            USER_OPTIONS.stream()).toList();

    /** Refuses what it does not know: a misspelt or unknown option would otherwise run a whole different benchmark. */
    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            String name = args[i].startsWith("--") ? args[i].substring(2) : null;
            if (name == null || !KNOWN_OPTIONS.contains(name)) {
                throw new IllegalArgumentException("unknown argument " + args[i] + "; options: --"
                        + String.join(", --", USER_OPTIONS)
                        + " (docs/benchmarks.md)");
            }
            if (i + 1 == args.length) {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
            options.put(name, args[i + 1]);
        }
        return options;
    }

    private static String required(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }
}
