package io.hsmkms.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The CLI as a separate process (java -cp ... Hsmkms), with no HSMKMS_* variables but those given. */
final class CliProcess {
    record Run(int exit, byte[] stdout, String stderr) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    private final Process process;
    private final Path err;
    private final CompletableFuture<byte[]> out;

    private CliProcess(Process process, Path err) {
        this.process = process;
        this.err = err;
        this.out = CompletableFuture.supplyAsync(() -> {
            try {
                return process.getInputStream().readAllBytes();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** Starts the CLI; {@code home} is its HOME and holds its stderr file. */
    static CliProcess start(Path home, Map<String, String> env, byte[] stdin, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // Short-lived processes: a quick-starting JIT and GC keep ~40 launches affordable.
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"),
                Hsmkms.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(k -> k.startsWith("HSMKMS_"));
        builder.environment().put("HOME", home.toString());
        builder.environment().putAll(env);
        Path err = Files.createTempFile(home, "stderr", ".txt");
        builder.redirectError(err.toFile());
        Process process = builder.start();
        try (var in = process.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin);
            }
        }
        return new CliProcess(process, err);
    }

    static Run run(Path home, Map<String, String> env, byte[] stdin, String... args) throws Exception {
        return start(home, env, stdin, args).finish(60);
    }

    /** Waits for the process to exit (killing it after {@code seconds}) and returns what it printed. */
    Run finish(int seconds) throws Exception {
        boolean exited = process.waitFor(seconds, TimeUnit.SECONDS);
        if (!exited) {
            process.destroyForcibly().waitFor();
        }
        Run run = new Run(process.exitValue(), out.get(10, TimeUnit.SECONDS), Files.readString(err));
        assertThat(exited).as("exited within %d s; printed %s / %s", seconds, run.out(), run.stderr()).isTrue();
        return run;
    }
}
