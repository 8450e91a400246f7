package io.hsmkms.server.tools;

import io.hsmkms.server.ServerConfig;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.core.Principal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * Prints a bearer token for a principal, signed with the key named by HSMKMS_TOKEN_KEY_FILE
 * (for development and the CLI). Usage: {@code IssueToken PRINCIPAL_ARN [--mfa] [--ttl SECONDS]}.
 */
public final class IssueToken {
    private IssueToken() {}

    public static void main(String[] args) throws Exception {
        String keyFile = System.getenv(ServerConfig.TOKEN_KEY_FILE);
        if (args.length < 1 || keyFile == null || keyFile.isBlank()) {
            System.err.println("usage: " + ServerConfig.TOKEN_KEY_FILE + "=<key file> IssueToken PRINCIPAL_ARN [--mfa] [--ttl SECONDS]");
            System.exit(2);
        }
        if (!Principal.isValidArn(args[0])) {
            System.err.println("not a principal ARN: arn:hsmkms:iam::<account>:root|user/<name>|role/<name>");
            System.exit(2);
        }
        boolean mfa = false;
        long ttl = 3600;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--mfa" -> mfa = true;
                case "--ttl" -> ttl = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        BearerTokens tokens = new BearerTokens(Files.readAllBytes(Path.of(keyFile)), Clock.systemUTC());
        System.out.println(tokens.issue(args[0], Duration.ofSeconds(ttl), mfa));
    }
}
