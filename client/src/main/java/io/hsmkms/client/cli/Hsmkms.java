package io.hsmkms.client.cli;

import io.hsmkms.client.KmsClient;
import io.hsmkms.client.errors.KmsException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code hsmkms} command line. Global options come before the subcommand
 * ({@code hsmkms --endpoint host:7700 keys list}); each falls back to an HSMKMS_* environment variable,
 * then to the config file, then to a default. Exit codes: see {@link ExitCodes}.
 */
@Command(name = "hsmkms", mixinStandardHelpOptions = true, versionProvider = Hsmkms.Version.class,
        description = "Client of the HSM-KMS key management service.",
        subcommands = {
                DataCommands.Encrypt.class, DataCommands.Decrypt.class, DataCommands.GenerateDataKey.class,
                DataCommands.Random.class, BlobCommands.EncryptBlob.class, BlobCommands.DecryptBlob.class,
                BlobCommands.ReEncrypt.class, KeyCommands.class, AliasCommands.class, TagCommands.class,
                RotationCommands.class, GrantCommands.class, PolicyCommands.class, ImportCommands.class, AuditCommands.class,
                AutoComplete.GenerateCompletion.class},
        // INHERIT: every subcommand gets --help/--version and this footer.
        scope = CommandLine.ScopeType.INHERIT,
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success",
                "  1  the service refused the request, or an envelope failed to decrypt",
                "     (the reason is printed), or audit verify found the trail not intact",
                "  2  usage error",
                "  3  local problem: a file, the configuration, TLS material, no trail directory",
                "  4  the service could not be reached (unavailable, deadline exceeded)",
                "",
                "Global options fall back to the environment: HSMKMS_ENDPOINT,",
                "HSMKMS_CA, HSMKMS_CERT, HSMKMS_KEY, HSMKMS_TOKEN_FILE, HSMKMS_PLAINTEXT,",
                "HSMKMS_AUTHORITY, HSMKMS_OUTPUT; then to the config file keys endpoint,",
                "ca, cert, key, token-file, plaintext, authority, output. Config file:",
                "--config, else HSMKMS_CLI_CONFIG, else ~/.config/hsmkms/config.properties."})
public final class Hsmkms {
    static final String DEFAULT_ENDPOINT = "127.0.0.1:7700";

    @Option(names = "--endpoint", paramLabel = "HOST:PORT", description = "Service address (default " + DEFAULT_ENDPOINT + ").")
    String endpoint;
    @Option(names = "--ca", paramLabel = "PEM", description = "CA certificate(s) to verify the server with.")
    Path ca;
    @Option(names = "--cert", paramLabel = "PEM", description = "Client certificate chain for mutual TLS.")
    Path cert;
    @Option(names = "--key", paramLabel = "PEM", description = "Client private key (PKCS#8) for mutual TLS.")
    Path key;
    @Option(names = "--token-file", paramLabel = "FILE", description = "File holding a bearer token.")
    Path tokenFile;
    @Option(names = "--plaintext", description = "No TLS (loopback development servers only).")
    Boolean plaintext;
    @Option(names = "--authority", paramLabel = "NAME", description = "TLS server name to verify, if not the endpoint's host.")
    String authority;
    @Option(names = "--output", paramLabel = "FORMAT", description = "table (default) or json.")
    String output;
    @Option(names = "--config", paramLabel = "FILE", description = "Config file (Java properties).")
    Path config;
    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Deadline of each call (default 30).")
    Integer timeoutSeconds;

    private final Map<String, String> env;
    private Properties fileSettings;
    private KmsClient client;

    Hsmkms(Map<String, String> env) {
        this.env = env;
    }

    public static void main(String[] args) {
        System.exit(run(System.getenv(), args));
    }

    static int run(Map<String, String> env, String... args) {
        Hsmkms root = new Hsmkms(env);
        CommandLine cli = new CommandLine(root);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> ExitCodes.report(e, commandLine.getErr()));
        try {
            return cli.execute(args);
        } finally {
            root.closeClient();
        }
    }

    /** The client, built on first use from the settings. */
    KmsClient client() {
        if (client == null) {
            KmsClient.Builder builder = KmsClient.builder().target(setting(endpoint, "HSMKMS_ENDPOINT", "endpoint",
                    DEFAULT_ENDPOINT));
            boolean noTls = Boolean.parseBoolean(setting(plaintext == null ? null : plaintext.toString(),
                    "HSMKMS_PLAINTEXT", "plaintext", "false"));
            builder.plaintext(noTls);
            String caFile = setting(ca, "HSMKMS_CA", "ca");
            if (caFile != null) {
                builder.trustCa(existing(caFile));
            }
            String certFile = setting(cert, "HSMKMS_CERT", "cert");
            String keyFile = setting(key, "HSMKMS_KEY", "key");
            if ((certFile == null) != (keyFile == null)) {
                throw new CliException(ExitCodes.LOCAL, "--cert and --key go together");
            }
            if (certFile != null) {
                builder.clientCertificate(existing(certFile), existing(keyFile));
            }
            String token = setting(tokenFile, "HSMKMS_TOKEN_FILE", "token-file");
            if (token != null) {
                builder.bearerTokenFile(existing(token));
            }
            String name = setting(authority, "HSMKMS_AUTHORITY", "authority");
            if (name != null) {
                builder.authority(name);
            }
            if (timeoutSeconds != null) {
                builder.deadline(Duration.ofSeconds(timeoutSeconds));
            }
            client = builder.build();
        }
        return client;
    }

    /** The environment the settings fall back to (the process's, or a test's). */
    Map<String, String> env() {
        return env;
    }

    boolean json() {
        String format = setting(output, "HSMKMS_OUTPUT", "output", "table");
        return switch (format) {
            case "json" -> true;
            case "table" -> false;
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                    "--output must be json or table, not '" + format + "'");
        };
    }

    private String setting(Object option, String envName, String property) {
        return setting(option == null ? null : option.toString(), envName, property, null);
    }

    private String setting(String option, String envName, String property, String fallback) {
        if (option != null) {
            return option;
        }
        String fromEnv = env.get(envName);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv;
        }
        return fileSettings().getProperty(property, fallback);
    }

    private Properties fileSettings() {
        if (fileSettings == null) {
            fileSettings = new Properties();
            Path file = config;
            if (file == null && env.get("HSMKMS_CLI_CONFIG") != null) {
                file = Path.of(env.get("HSMKMS_CLI_CONFIG"));
            }
            boolean explicit = file != null;
            if (file == null && env.get("HOME") != null) {
                file = Path.of(env.get("HOME"), ".config", "hsmkms", "config.properties");
            }
            if (file != null && (explicit || Files.exists(file))) {
                try (InputStream in = Files.newInputStream(file)) {
                    fileSettings.load(in);
                } catch (IOException e) {
                    throw new CliException(ExitCodes.LOCAL, "cannot read config file " + file + ": " + e.getMessage());
                }
            }
        }
        return fileSettings;
    }

    private static Path existing(String file) {
        Path path = Path.of(file);
        if (!Files.isReadable(path)) {
            throw new CliException(ExitCodes.LOCAL, "cannot read " + file);
        }
        return path;
    }

    private void closeClient() {
        if (client != null) {
            client.close();
        }
    }

    /** Exit codes and how failures are reported: the reason first, never a stack trace for expected failures. */
    static final class ExitCodes {
        static final int OK = 0;
        static final int KMS = 1;
        static final int USAGE = 2;
        static final int LOCAL = 3;
        static final int UNREACHABLE = 4;

        private ExitCodes() {}

        static int report(Exception e, PrintWriter err) {
            if (e instanceof KmsException kms) {
                if (kms.reason() == null) {
                    err.println("hsmkms: cannot reach the service: " + kms.code() + ": " + kms.getMessage());
                    return UNREACHABLE;
                }
                err.println("hsmkms: " + kms.reason() + ": " + kms.getMessage()
                        + (kms.requestId() == null ? "" : " (request id " + kms.requestId() + ")"));
                return KMS;
            }
            if (e instanceof CliException cli) {
                err.println("hsmkms: " + cli.getMessage());
                return cli.exitCode;
            }
            if (e instanceof CommandLine.ParameterException || e instanceof IllegalArgumentException) {
                err.println("hsmkms: " + e.getMessage());
                return USAGE;
            }
            if (e instanceof IOException || e instanceof UncheckedIOException) {
                err.println("hsmkms: " + e.getMessage());
                return LOCAL;
            }
            err.println("hsmkms: unexpected failure: " + e);
            return 70;
        }
    }

    /** A failure the CLI explains itself, with its exit code. */
    static final class CliException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int exitCode;

        CliException(int exitCode, String message) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Hsmkms.class.getPackage().getImplementationVersion();
            return new String[] {"hsmkms " + (version == null ? "(development build)" : version)};
        }
    }
}
