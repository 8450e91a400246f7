package io.hsmkms.server.testing;

import io.hsmkms.server.store.ExternalDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * A real PostgreSQL server for one test class, and a fresh database per test on it. In order of preference:
 * <ol>
 *   <li>an existing server named by {@value #URL} (a {@code jdbc:postgresql://host:port/} URL of a role that may
 *       create databases) with {@value #USER} and {@value #PASSWORD};
 *   <li>a private cluster from the Debian {@code postgresql} package: {@code initdb} into a temp dir and
 *       {@code pg_ctl} on a free loopback port. PostgreSQL refuses to run as root, so as root both run as
 *       {@code nobody} over a temp dir that user owns;
 *   <li>a Testcontainers container where a Docker engine runs.
 * </ol>
 * With none of them the test is skipped locally and fails in CI (env CI set): CI must run these tests.
 */
public final class TestPostgres implements AutoCloseable {
    public static final String URL = "HSMKMS_TEST_POSTGRES_URL";
    public static final String USER = "HSMKMS_TEST_POSTGRES_USER";
    public static final String PASSWORD = "HSMKMS_TEST_POSTGRES_PASSWORD";
    private static final String UNPRIVILEGED_USER = "nobody";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String baseUrl;
    private final String user;
    private final String password;
    private final Path passwordFile;
    private final AutoCloseable stopper;
    private final List<String> databases = new ArrayList<>();

    private TestPostgres(String baseUrl, String user, String password, Path passwordFile, AutoCloseable stopper) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
        this.user = user;
        this.password = password;
        this.passwordFile = passwordFile;
        this.stopper = stopper;
    }

    public static TestPostgres start() {
        String url = System.getenv(URL);
        if (url != null && !url.isBlank()) {
            String password = System.getenv().getOrDefault(PASSWORD, "");
            return new TestPostgres(url, System.getenv().getOrDefault(USER, "postgres"), password,
                    writeTempPasswordFile(password), () -> { });
        }
        Path bin = installedBinaries();
        if (bin != null) {
            return startLocalCluster(bin);
        }
        if (dockerAvailable()) {
            return startContainer();
        }
        String why = "no PostgreSQL: set " + URL + ", install the postgresql package (initdb) or run a Docker engine";
        if (System.getenv("CI") != null) {
            throw new IllegalStateException(why + "; CI must run the PostgreSQL tests (.ci/run installs postgresql)");
        }
        Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }

    /** A new, empty database on this server, as a node would be configured for it. */
    public ExternalDatabase newDatabase() {
        String name = "hsmkms_" + HexFormat.of().formatHex(randomBytes(6));
        try (Connection admin = DriverManager.getConnection(baseUrl + "postgres", user, password);
             Statement statement = admin.createStatement()) {
            statement.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create a test database", e);
        }
        databases.add(name);
        return new ExternalDatabase(baseUrl + name, user, passwordFile, 4);
    }

    /** A plain connection for a test that looks at or changes rows behind the service's back. */
    public static Connection connect(ExternalDatabase database) throws SQLException {
        return DriverManager.getConnection(database.url(), database.user(), readPassword(database.passwordFile()));
    }

    @Override
    public void close() {
        try {
            stopper.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop PostgreSQL", e);
        }
    }

    private static Path installedBinaries() {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparing(b -> versionNumber(b.getParent().getFileName().toString())))
                    .orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    private static int versionNumber(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static TestPostgres startLocalCluster(Path bin) {
        boolean root = "root".equals(System.getProperty("user.name"));
        List<String> runAs = root ? List.of("runuser", "-u", UNPRIVILEGED_USER, "--") : List.of();
        try {
            // As root the cluster runs as nobody, which must reach the directory: /tmp is open to all,
            // java.io.tmpdir may not be.
            Path dir = root ? Files.createTempDirectory(Path.of("/tmp"), "hsmkms-pg") : Files.createTempDirectory("hsmkms-pg");
            Path data = dir.resolve("data");
            Path passwordFile = dir.resolve("password");
            String password = HexFormat.of().formatHex(randomBytes(16));
            Files.writeString(passwordFile, password, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
            if (root) {
                UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
                Files.setOwner(dir, users.lookupPrincipalByName(UNPRIVILEGED_USER));
                Files.setOwner(passwordFile, users.lookupPrincipalByName(UNPRIVILEGED_USER));
            }
            int port = freePort();
            run(runAs, List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "hsmkms",
                    "--pwfile=" + passwordFile, "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"), dir);
            // Durability settings off: a test cluster that dies is thrown away anyway.
            String options = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
                    + " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
            List<String> stop = List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "stop", "-m", "immediate");
            Thread hook = new Thread(() -> stopAndDelete(runAs, stop, dir), "stop-test-postgres");
            // Registered before the start so that a JVM that dies half-way still stops the server.
            Runtime.getRuntime().addShutdownHook(hook);
            run(runAs, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("log").toString(),
                    "-w", "-t", "60", "-o", options, "start"), dir);
            return new TestPostgres("jdbc:postgresql://127.0.0.1:" + port + "/", "hsmkms", password, passwordFile, () -> {
                stopAndDelete(runAs, stop, dir);
                Runtime.getRuntime().removeShutdownHook(hook);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a PostgreSQL test cluster", e);
        }
    }

    private static void stopAndDelete(List<String> runAs, List<String> stop, Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            run(runAs, stop, dir);
        } catch (RuntimeException | IOException e) {
            // Already stopped (or never started): deleting the directory is all that is left.
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A leftover temp dir is harmless.
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static TestPostgres startContainer() {
        PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
        container.start();
        String url = "jdbc:postgresql://" + container.getHost() + ":" + container.getMappedPort(5432) + "/";
        return new TestPostgres(url, container.getUsername(), container.getPassword(),
                writeTempPasswordFile(container.getPassword()), container::stop);
    }

    private static Path writeTempPasswordFile(String password) {
        try {
            Path file = Files.createTempFile("hsmkms-pg", ".password");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(file, password, StandardCharsets.UTF_8);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String readPassword(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void run(List<String> runAs, List<String> command, Path dir) throws IOException {
        List<String> full = new ArrayList<>(runAs);
        full.addAll(command);
        Path output = Files.createTempFile("hsmkms-pg", ".out");
        Process process = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
        try {
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(command.getFirst() + " timed out");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(Path.of(command.getFirst()).getFileName() + " failed: "
                        + Files.readString(output, StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
