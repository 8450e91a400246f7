package io.hsmkms.server;

import io.hsmkms.server.audit.HashChainedFileTrail;
import io.hsmkms.hsm.pkcs11.Pkcs11Config;
import io.hsmkms.server.store.ExternalDatabase;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Server settings. Read from environment variables, optionally layered over a properties file
 * with the same names ({@value #CONFIG_FILE} names it); the environment wins. Secrets (the PIN) come
 * from a file or the environment only, never from the command line.
 */
public record ServerConfig(
        Path dataDir,
        String listenAddress,
        int port,
        String region,
        int maxInboundMessageBytes,
        long maxEncryptionsPerVersion,
        int cryptoThreads,
        Pkcs11Config pkcs11,
        Path identitiesFile,
        Path tokenKeyFile,
        Tls tls,
        String insecureDevPrincipal,
        HashChainedFileTrail.Settings audit,
        java.net.InetSocketAddress metricsAddress,
        String nodeId,
        ExternalDatabase database) {

    /** True when the metadata lives in the embedded H2 database under the data directory (the default). */
    public boolean embeddedDatabase() {
        return database == null;
    }

    /** Server certificate and key (PEM); with a client CA, client certificates are verified (mTLS). */
    public record Tls(Path certificateChain, Path privateKey, Path clientCa) {}

    public static final String CONFIG_FILE = "HSMKMS_CONFIG";
    public static final String DATA_DIR = "HSMKMS_DATA_DIR";
    public static final String LISTEN_ADDRESS = "HSMKMS_LISTEN_ADDRESS";
    public static final String PORT = "HSMKMS_PORT";
    public static final String REGION = "HSMKMS_REGION";
    public static final String IDENTITIES_FILE = "HSMKMS_IDENTITIES_FILE";
    public static final String TOKEN_KEY_FILE = "HSMKMS_TOKEN_KEY_FILE";
    public static final String TLS_CERT_FILE = "HSMKMS_TLS_CERT_FILE";
    public static final String TLS_KEY_FILE = "HSMKMS_TLS_KEY_FILE";
    public static final String TLS_CLIENT_CA_FILE = "HSMKMS_TLS_CLIENT_CA_FILE";
    public static final String INSECURE_DEV_PRINCIPAL = "HSMKMS_INSECURE_DEV_PRINCIPAL";
    public static final String MAX_ENCRYPTIONS_PER_VERSION = "HSMKMS_MAX_ENCRYPTIONS_PER_VERSION";
    /** Threads that run the cryptographic calls (Encrypt, Decrypt, ...); default: one per core. */
    public static final String CRYPTO_THREADS = "HSMKMS_CRYPTO_THREADS";
    public static final String AUDIT_DIR = "HSMKMS_AUDIT_DIR";
    /** This node's name ([a-z0-9-], up to 40); default: a random one kept in <data dir>/node-id. */
    public static final String NODE_ID = "HSMKMS_NODE_ID";
    /** host:port for GET /metrics (Prometheus), or "off". Default 127.0.0.1:9464. */
    public static final String METRICS_ADDRESS = "HSMKMS_METRICS_ADDRESS";
    public static final String AUDIT_DURABILITY = "HSMKMS_AUDIT_DURABILITY";
    public static final String AUDIT_FILE_MAX_BYTES = "HSMKMS_AUDIT_FILE_MAX_BYTES";
    public static final String AUDIT_FILE_MAX_SECONDS = "HSMKMS_AUDIT_FILE_MAX_SECONDS";
    /** A {@code jdbc:postgresql:} URL: metadata in a PostgreSQL database several nodes share. Unset: embedded H2. */
    public static final String DATABASE_URL = "HSMKMS_DATABASE_URL";
    public static final String DATABASE_USER = "HSMKMS_DATABASE_USER";
    public static final String DATABASE_PASSWORD_FILE = "HSMKMS_DATABASE_PASSWORD_FILE";
    public static final String DATABASE_POOL_SIZE = "HSMKMS_DATABASE_POOL_SIZE";
    /**
     * 2^30: a quarter of NIST SP 800-38D's 2^32 limit for random 96-bit IVs, leaving room for counts
     * a crash loses and for the lag between nodes.
     */
    public static final long DEFAULT_MAX_ENCRYPTIONS_PER_VERSION = 1L << 30;

    public static final int DEFAULT_PORT = 7700;
    public static final String DEFAULT_REGION = "local";
    /** Requests are small (4 KiB plaintext, 6 KiB blobs, 8 KiB context); anything far larger is abuse. */
    public static final int MAX_INBOUND_MESSAGE_BYTES = 64 * 1024;

    public static ServerConfig fromEnvironment(Map<String, String> env) {
        Map<String, String> settings = new HashMap<>();
        String file = env.get(CONFIG_FILE);
        if (file != null && !file.isBlank()) {
            settings.putAll(readProperties(Path.of(file)));
        }
        settings.putAll(env);
        return fromSettings(settings);
    }

    public static ServerConfig fromSettings(Map<String, String> settings) {
        String port = settings.getOrDefault(PORT, Integer.toString(DEFAULT_PORT));
        int portNumber;
        try {
            portNumber = Integer.parseInt(port.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PORT + " must be a port number");
        }
        if (portNumber < 0 || portNumber > 65535) {
            throw new IllegalArgumentException(PORT + " must be 0..65535");
        }
        Path dataDir = Path.of(settings.getOrDefault(DATA_DIR, "data")).toAbsolutePath();
        Path cert = path(settings, TLS_CERT_FILE);
        Path key = path(settings, TLS_KEY_FILE);
        Path clientCa = path(settings, TLS_CLIENT_CA_FILE);
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("set both " + TLS_CERT_FILE + " and " + TLS_KEY_FILE + ", or neither");
        }
        if (clientCa != null && cert == null) {
            throw new IllegalArgumentException(TLS_CLIENT_CA_FILE + " needs " + TLS_CERT_FILE + " and " + TLS_KEY_FILE);
        }
        Path identities = path(settings, IDENTITIES_FILE);
        if (identities == null && Files.exists(dataDir.resolve("identities.json"))) {
            identities = dataDir.resolve("identities.json");
        }
        String devPrincipal = settings.get(INSECURE_DEV_PRINCIPAL);
        return new ServerConfig(
                dataDir,
                settings.getOrDefault(LISTEN_ADDRESS, "127.0.0.1"),
                portNumber,
                settings.getOrDefault(REGION, DEFAULT_REGION),
                MAX_INBOUND_MESSAGE_BYTES,
                maxEncryptions(settings),
                (int) number(settings, CRYPTO_THREADS, defaultCryptoThreads(), 1, 1024),
                Pkcs11Config.fromSettings(settings),
                identities,
                path(settings, TOKEN_KEY_FILE),
                cert == null ? null : new Tls(cert, key, clientCa),
                devPrincipal == null || devPrincipal.isBlank() ? null : devPrincipal.trim(),
                audit(settings, dataDir),
                metricsAddress(settings.getOrDefault(METRICS_ADDRESS, "127.0.0.1:9464").trim()),
                nodeId(settings.get(NODE_ID)),
                database(settings));
    }

    private static ExternalDatabase database(Map<String, String> settings) {
        if (settings.containsKey("HSMKMS_DATABASE_PASSWORD")) {
            // Environments leak (process listings of other tools, crash reports): secrets come from files.
            throw new IllegalArgumentException("HSMKMS_DATABASE_PASSWORD is not read; put the password in a file named by "
                    + DATABASE_PASSWORD_FILE);
        }
        String url = settings.get(DATABASE_URL);
        if (url == null || url.isBlank()) {
            for (String dependent : new String[] {DATABASE_USER, DATABASE_PASSWORD_FILE, DATABASE_POOL_SIZE}) {
                if (settings.get(dependent) != null && !settings.get(dependent).isBlank()) {
                    throw new IllegalArgumentException(dependent + " needs " + DATABASE_URL);
                }
            }
            return null;
        }
        int poolSize;
        String pool = settings.getOrDefault(DATABASE_POOL_SIZE, Integer.toString(ExternalDatabase.DEFAULT_MAX_POOL_SIZE));
        try {
            poolSize = Integer.parseInt(pool.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(DATABASE_POOL_SIZE + " must be a number");
        }
        String user = settings.get(DATABASE_USER);
        if (user == null || user.isBlank()) {
            throw new IllegalArgumentException(DATABASE_URL + " needs " + DATABASE_USER);
        }
        try {
            return new ExternalDatabase(url.trim(), user.trim(), path(settings, DATABASE_PASSWORD_FILE), poolSize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(DATABASE_URL + ": " + e.getMessage());
        }
    }

    private static String nodeId(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        if (!value.trim().matches("[a-z0-9-]{1,40}")) {
            throw new IllegalArgumentException(NODE_ID + " must be 1 to 40 of a-z, 0-9 and -");
        }
        return value.trim();
    }

    private static java.net.InetSocketAddress metricsAddress(String value) {
        if (value.equals("off")) {
            return null;
        }
        int colon = value.lastIndexOf(':');
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (colon < 1 || port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return new java.net.InetSocketAddress(value.substring(0, colon), port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(METRICS_ADDRESS + " must be host:port or off");
        }
    }

    private static HashChainedFileTrail.Settings audit(Map<String, String> settings, Path dataDir) {
        Path dir = path(settings, AUDIT_DIR);
        String durability = settings.getOrDefault(AUDIT_DURABILITY, "sync").trim();
        HashChainedFileTrail.Durability mode = switch (durability) {
            case "sync" -> HashChainedFileTrail.Durability.SYNC;
            case "async" -> HashChainedFileTrail.Durability.ASYNC;
            default -> throw new IllegalArgumentException(AUDIT_DURABILITY + " must be sync or async");
        };
        return new HashChainedFileTrail.Settings(dir == null ? dataDir.resolve("audit") : dir, mode,
                number(settings, AUDIT_FILE_MAX_BYTES, HashChainedFileTrail.Settings.DEFAULT_MAX_FILE_BYTES, 4096, 1L << 40),
                java.time.Duration.ofSeconds(number(settings, AUDIT_FILE_MAX_SECONDS,
                        HashChainedFileTrail.Settings.DEFAULT_MAX_FILE_AGE.toSeconds(), 1, 7 * 24 * 3600)));
    }

    private static long number(Map<String, String> settings, String name, long defaultValue, long min, long max) {
        String value = settings.get(name);
        if (value == null || value.isBlank()) {
            return defaultValue;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number from " + min + " to " + max);
        }
    }

    /**
     * One per core: with a token in the process (SoftHSM, a PCIe card) a cryptographic call is CPU work, and
     * more of them at once than there are cores only adds thread switches and contention on the token's locks
     * (docs/benchmarks.md). A network HSM needs more: about as many as calls it should have in progress.
     */
    public static int defaultCryptoThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    private static long maxEncryptions(Map<String, String> settings) {
        return number(settings, MAX_ENCRYPTIONS_PER_VERSION, DEFAULT_MAX_ENCRYPTIONS_PER_VERSION, 1, 1L << 32);
    }

    private static Path path(Map<String, String> settings, String name) {
        String value = settings.get(name);
        return value == null || value.isBlank() ? null : Path.of(value.trim()).toAbsolutePath();
    }

    private static Map<String, String> readProperties(Path file) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the config file " + file, e);
        }
        Map<String, String> settings = new HashMap<>();
        properties.stringPropertyNames().forEach(name -> settings.put(name, properties.getProperty(name)));
        return settings;
    }
}
