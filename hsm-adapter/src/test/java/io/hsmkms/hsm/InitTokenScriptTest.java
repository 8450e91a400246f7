package io.hsmkms.hsm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** softhsm-config/init-token.sh, the first-start step of bin/serve, run as a user would run it. */
class InitTokenScriptTest {
    private static final Path SCRIPT = Path.of("..", "softhsm-config", "init-token.sh").toAbsolutePath().normalize();

    @TempDir
    Path dataDir;

    @BeforeAll
    static void requireSoftHsm() {
        boolean present = Files.isReadable(Path.of("/usr/lib/softhsm/libsofthsm2.so"));
        if (System.getenv("CI") == null) {
            Assumptions.assumeTrue(present, "SoftHSM2 is not installed");
        }
    }

    @Test
    void firstRun_createsTokenAndPrivatePinFiles_secondRunChangesNothing() throws Exception {
        Result first = run(List.of(SCRIPT.toString(), dataDir.toString()), Map.of());
        Path hsm = dataDir.resolve("softhsm");
        String pin = Files.readString(hsm.resolve("user.pin"));
        String soPin = Files.readString(hsm.resolve("so.pin"));

        assertThat(first.exitCode()).as(first.output()).isZero();
        assertThat(pin).matches("[0-9a-f]{32}");
        assertThat(soPin).matches("[0-9a-f]{32}").isNotEqualTo(pin);
        for (String file : List.of("user.pin", "so.pin")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(hsm.resolve(file)))).isEqualTo("rw-------");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(hsm))).isEqualTo("rwx------");
        assertThat(first.output()).contains("SOFTHSM2_CONF=" + hsm.resolve("softhsm2.conf"))
                .contains("HSMKMS_PIN_FILE=" + hsm.resolve("user.pin")).doesNotContain(pin).doesNotContain(soPin);

        Result second = run(List.of(SCRIPT.toString(), dataDir.toString()), Map.of());

        assertThat(second.exitCode()).as(second.output()).isZero();
        assertThat(second.output()).contains("already initialised").doesNotContain(pin);
        assertThat(Files.readString(hsm.resolve("user.pin"))).isEqualTo(pin);
        Map<String, String> env = Map.of("SOFTHSM2_CONF", hsm.resolve("softhsm2.conf").toString());
        String slots = run(List.of("softhsm2-util", "--show-slots"), env).output();
        assertThat(slots.split("Label:\\s+hsmkms\\s*\\n", -1)).as("exactly one token labelled hsmkms").hasSize(2);
        Result login = run(List.of("pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "hsmkms",
                "--login", "--pin", "env:TOKEN_PIN", "--list-objects"), Map.of("SOFTHSM2_CONF", env.get("SOFTHSM2_CONF"),
                "TOKEN_PIN", pin));
        assertThat(login.exitCode()).as("the PIN in user.pin logs in").isZero();
    }

    @Test
    void existingToken_withoutPinFile_isNotReinitialised() throws Exception {
        assertThat(run(List.of(SCRIPT.toString(), dataDir.toString()), Map.of()).exitCode()).isZero();
        Files.delete(dataDir.resolve("softhsm").resolve("user.pin"));

        Result again = run(List.of(SCRIPT.toString(), dataDir.toString()), Map.of());

        assertThat(again.exitCode()).isNotZero();
        assertThat(again.output()).contains("user.pin is missing");
        assertThat(dataDir.resolve("softhsm").resolve("user.pin")).doesNotExist();
    }

    @Test
    void concurrentFirstRuns_initialiseExactlyOneToken() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<Result>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                runs.add(pool.submit(() -> run(List.of(SCRIPT.toString(), dataDir.toString()), Map.of())));
            }
            for (java.util.concurrent.Future<Result> r : runs) {
                assertThat(r.get().exitCode()).as(r.get().output()).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
        String slots = run(List.of("softhsm2-util", "--show-slots"),
                Map.of("SOFTHSM2_CONF", dataDir.resolve("softhsm").resolve("softhsm2.conf").toString())).output();

        assertThat(slots.split("Label:\\s+hsmkms\\s*\\n", -1)).as("exactly one token labelled hsmkms").hasSize(2);
    }

    private record Result(int exitCode, String output) {}

    private static Result run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("SOFTHSM2_CONF");
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), output);
    }
}
