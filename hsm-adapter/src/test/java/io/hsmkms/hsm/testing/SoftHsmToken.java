package io.hsmkms.hsm.testing;

import io.hsmkms.hsm.pkcs11.Pkcs11Config;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A fresh SoftHSM2 token for one test class.
 *
 * <p>SoftHSM reads {@code SOFTHSM2_CONF} and scans its token directory once per process, when the
 * library is first initialised. So the build points {@code SOFTHSM2_CONF} at a file under
 * {@code target/}, runs each test class in its own JVM, and this fixture initialises a new token
 * (unique label, random PINs) before anything in that JVM loads the library. Tokens are found by
 * slot id, which SoftHSM assigns at random.
 *
 * <p>Without SoftHSM installed the test is skipped locally and fails in CI (env CI set).
 */
public final class SoftHsmToken implements AutoCloseable {
    public static final Path LIBRARY = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    private static final Pattern SLOT = Pattern.compile("reassigned to slot (\\d+)");
    private static final Pattern OBJECT_LABEL = Pattern.compile("label:\\s+(\\S+)");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path conf;
    private final String label;
    private final long slot;
    private final Path pinFile;
    private final String pin;

    private SoftHsmToken(Path conf, String label, long slot, Path pinFile, String pin) {
        this.conf = conf;
        this.label = label;
        this.slot = slot;
        this.pinFile = pinFile;
        this.pin = pin;
    }

    public static SoftHsmToken create() {
        requireSoftHsm();
        String confVar = System.getenv("SOFTHSM2_CONF");
        if (confVar == null || confVar.isBlank()) {
            throw new IllegalStateException("SOFTHSM2_CONF is not set; run the tests through Maven (bin/test)");
        }
        try {
            Path conf = Path.of(confVar).toAbsolutePath();
            Path tokens = conf.resolveSibling("tokens");
            Files.createDirectories(tokens);
            if (!Files.exists(conf)) {
                Files.writeString(conf, String.join("\n",
                        "directories.tokendir = " + tokens,
                        "objectstore.backend = file",
                        "log.level = ERROR",
                        "slots.removable = false",
                        ""));
            }
            String label = "test-" + HexFormat.of().formatHex(randomBytes(6));
            String pin = HexFormat.of().formatHex(randomBytes(12));
            String soPin = HexFormat.of().formatHex(randomBytes(12));
            String out = run(conf, List.of("softhsm2-util", "--init-token", "--free", "--label", label,
                    "--so-pin", soPin, "--pin", pin));
            Matcher m = SLOT.matcher(out);
            if (!m.find()) {
                throw new IllegalStateException("softhsm2-util did not report a slot for the new token");
            }
            Path pinFile = conf.resolveSibling(label + ".pin");
            Files.writeString(pinFile, pin, StandardCharsets.UTF_8);
            return new SoftHsmToken(conf, label, Long.parseLong(m.group(1)), pinFile, pin);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create a SoftHSM token", e);
        }
    }

    /**
     * This token's directory in the object store (SoftHSM names it by a UUID; the token's label is
     * in its token.object file). Moving it away is how a test pulls the token out from under a
     * running process.
     */
    public Path directory() {
        Path tokens = conf.resolveSibling("tokens");
        byte[] needle = label.getBytes(StandardCharsets.UTF_8);
        try (var dirs = Files.list(tokens)) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                Path object = dir.resolve("token.object");
                if (Files.exists(object) && indexOf(Files.readAllBytes(object), needle) >= 0) {
                    return dir;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list the SoftHSM object store", e);
        }
        throw new IllegalStateException("token " + label + " not found in " + tokens);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Configuration for this token with the PIN read from a file, as in production. */
    public Pkcs11Config config() {
        return new Pkcs11Config(LIBRARY, slot, 0, new Pkcs11Config.PinSource.FromFile(pinFile),
                Pkcs11Config.DEFAULT_MAX_CONCURRENCY, Pkcs11Config.DEFAULT_ACQUIRE_TIMEOUT);
    }

    /** The same settings as environment variables, for a server process or {@code ServerConfig}. */
    public Map<String, String> settings() {
        return Map.of(
                Pkcs11Config.LIBRARY, LIBRARY.toString(),
                Pkcs11Config.SLOT, Long.toString(slot),
                Pkcs11Config.PIN_FILE, pinFile.toString());
    }

    public Path conf() {
        return conf;
    }

    public long slot() {
        return slot;
    }

    public String label() {
        return label;
    }

    /**
     * Runs OpenSC's pkcs11-tool against this token, logged in; the PIN goes through the
     * environment, not the command line. Returns the exit code and stdout followed by stderr (kept
     * apart: interleaved, a warning can land in the middle of a listed label).
     */
    public ToolResult pkcs11Tool(String... args) {
        List<String> command = new ArrayList<>(List.of("pkcs11-tool", "--module", LIBRARY.toString(),
                "--slot", Long.toString(slot), "--login", "--pin", "env:HSMKMS_TEST_PIN"));
        command.addAll(List.of(args));
        try {
            Path errors = Files.createTempFile("pkcs11-tool", ".err");
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile());
            builder.environment().put("SOFTHSM2_CONF", conf.toString());
            builder.environment().put("HSMKMS_TEST_PIN", pin);
            Process process = builder.start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("pkcs11-tool timed out");
            }
            String err = Files.readString(errors, StandardCharsets.UTF_8);
            Files.deleteIfExists(errors);
            return new ToolResult(process.exitValue(), out + "\n" + err);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run pkcs11-tool (package opensc)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The labels of the token's secret key objects, as pkcs11-tool lists them from outside the JVM. */
    public java.util.Set<String> secretKeyLabels() {
        ToolResult listing = pkcs11Tool("--list-objects", "--type", "secrkey");
        if (listing.exitCode() != 0) {
            throw new IllegalStateException("pkcs11-tool --list-objects failed:\n" + listing.output());
        }
        java.util.Set<String> labels = new java.util.HashSet<>();
        Matcher m = OBJECT_LABEL.matcher(listing.output());
        while (m.find()) {
            labels.add(m.group(1));
        }
        return labels;
    }

    @Override
    public void close() {
        try {
            run(conf, List.of("softhsm2-util", "--delete-token", "--token", label));
            Files.deleteIfExists(pinFile);
        } catch (IOException | RuntimeException e) {
            // Leftover tokens live under target/ and go with `mvn clean`.
        }
    }

    public record ToolResult(int exitCode, String output) {}

    private static void requireSoftHsm() {
        boolean present = Files.isReadable(LIBRARY) && onPath("softhsm2-util");
        if (System.getenv("CI") == null) {
            Assumptions.assumeTrue(present, "SoftHSM2 is not installed (apt-get install softhsm2 opensc)");
        } else if (!present) {
            throw new IllegalStateException("SoftHSM2 is required in CI: apt-get install -y softhsm2 opensc");
        }
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    private static String run(Path conf, List<String> command) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(Duration.ofSeconds(60).toSeconds(), TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(command.getFirst() + " " + command.get(1) + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return out;
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    /**
     * The lines {@code pkcs11-tool --list-objects} prints for the secret key under this label: its header up to the next
     * header or the first empty line. Not further: after the last object come the tool's warnings ({@link #pkcs11Tool}
     * appends stderr), and which object is last depends on SoftHSM's random file names.
     */
    public static String secretKeyBlock(String listing, String label) {
        for (String object : listing.split("(?m)^(?=Secret Key Object)")) {
            if (object.matches("(?s).*label:\\s+" + java.util.regex.Pattern.quote(label) + "\\s*\\n.*")) {
                int end = object.indexOf("\n\n");
                return end < 0 ? object : object.substring(0, end + 1);
            }
        }
        throw new AssertionError("no object labelled " + label + " in:\n" + listing);
    }
}
