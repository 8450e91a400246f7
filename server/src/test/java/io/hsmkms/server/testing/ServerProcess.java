package io.hsmkms.server.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.server.Main;
import io.hsmkms.server.ServerConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The server's {@link Main} in a JVM of its own, configured only through environment variables. */
public final class ServerProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("hsmkms listening on [^:]+:(\\d+)");

    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> port = new CompletableFuture<>();
    private final ManagedChannel channel;

    private ServerProcess(SoftHsmToken token, Path dataDir, Map<String, String> extraEnv) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // The production logging configuration, not the tests' quiet one: the test reads the log.
        // The same JVM flags as the server jar's manifest (a class-path launch does not read them).
        ProcessBuilder builder = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED",
                "-Dlogback.configurationFile=logback.xml",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.putAll(token.settings());
        env.put("SOFTHSM2_CONF", token.conf().toString());
        env.put(ServerConfig.DATA_DIR, dataDir.toString());
        env.put(ServerConfig.PORT, "0");
        env.put(ServerConfig.INSECURE_DEV_PRINCIPAL, KmsTestServer.ROOT);
        env.put(ServerConfig.REGION, KmsTestServer.REGION);
        env.put(ServerConfig.METRICS_ADDRESS, "127.0.0.1:0");
        env.putAll(extraEnv);
        process = builder.start();
        Thread reader = new Thread(this::readOutput, "server-output");
        reader.setDaemon(true);
        reader.start();
        int boundPort;
        try {
            boundPort = port.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException("server did not start; output:\n" + String.join("\n", output), e);
        }
        channel = NettyChannelBuilder.forAddress("127.0.0.1", boundPort).usePlaintext().build();
    }

    public static ServerProcess start(SoftHsmToken token, Path dataDir) {
        return start(token, dataDir, Map.of());
    }

    public static ServerProcess start(SoftHsmToken token, Path dataDir, Map<String, String> extraEnv) {
        try {
            return new ServerProcess(token, dataDir, extraEnv);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public ManagedChannel channel() {
        return channel;
    }

    /** Everything the server printed so far (its log). */
    public String output() {
        return String.join("\n", output);
    }

    /** Waits until the server has printed a line containing {@code fragment}; false on timeout. */
    public boolean awaitOutput(String fragment, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (output.stream().anyMatch(line -> line.contains(fragment))) {
                return true;
            }
            Thread.sleep(2);
        }
        return false;
    }

    /** SIGTERM, as a supervisor would send; returns the exit code after a graceful stop. */
    public int stop() throws InterruptedException {
        channel.shutdownNow();
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("server did not stop within 60 s");
        }
        return process.exitValue();
    }

    /** SIGKILL: no shutdown hook, no flush, as in a power cut or an OOM kill. */
    public void kill() throws InterruptedException {
        channel.shutdownNow();
        process.destroyForcibly();
        process.waitFor(60, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        process.destroyForcibly();
    }

    private void readOutput() {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                output.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port.complete(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException e) {
            // The process went away; whoever waits on the port times out with the output so far.
        }
        port.completeExceptionally(new IllegalStateException("server exited"));
    }
}
