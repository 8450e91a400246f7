package io.hsmkms.server.tools;

import io.hsmkms.audit.AuditQuery;
import io.hsmkms.audit.AuditVerifier;
import io.hsmkms.audit.TrailFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code bin/audit verify|query}: checks a trail directory offline, or prints the records that
 * match a filter. Needs neither the server nor the HSM: digests are checked with the public key.
 * Exit codes: 0 intact / query done, 1 the trail is not intact, 2 usage error.
 */
public final class AuditTool {
    private static final String USAGE = """
            usage: bin/audit verify [--dir DIR] [--public-key PEM]
                   bin/audit query  [--dir DIR] [--key KEY_ID|KEY_ARN] [--principal ARN] [--action NAME]
                                    [--outcome Allowed|Denied|Invalid|Failed|Succeeded] [--since ISO_TIME] [--until ISO_TIME]
            DIR defaults to $HSMKMS_AUDIT_DIR, else $HSMKMS_DATA_DIR/audit, else ./data/audit.""";

    private AuditTool() {}

    public static void main(String[] args) throws IOException {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        Map<String, String> options = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                err.println("unexpected argument: " + args[i] + "\n" + USAGE);
                return 2;
            }
            options.put(args[i].substring(2), args[++i]);
        }
        Path dir = options.containsKey("dir") ? Path.of(options.get("dir")) : TrailFiles.defaultDir(System.getenv());
        if (!Files.isDirectory(dir)) {
            err.println("no audit trail directory at " + dir);
            return 2;
        }
        return switch (args[0]) {
            case "verify" -> verify(dir, options.get("public-key"), out);
            case "query" -> query(dir, options, out, err);
            default -> {
                err.println(USAGE);
                yield 2;
            }
        };
    }

    private static int verify(Path dir, String publicKey, PrintStream out) throws IOException {
        PublicKey pinned = publicKey == null ? null : AuditVerifier.readPublicKey(Path.of(publicKey));
        AuditVerifier.Report report = AuditVerifier.verify(dir, pinned);
        report.lines().forEach(out::println);
        return report.intact() ? 0 : 1;
    }

    private static int query(Path dir, Map<String, String> options, PrintStream out, PrintStream err) throws IOException {
        AuditQuery.Filter filter;
        try {
            filter = new AuditQuery.Filter(options.get("key"), options.get("principal"), options.get("action"),
                    options.get("outcome"), instant(options.get("since")), instant(options.get("until")));
        } catch (java.time.format.DateTimeParseException e) {
            err.println("--since and --until take ISO-8601 instants, e.g. 2026-11-24T00:00:00Z");
            return 2;
        }
        AuditQuery.run(dir, filter, out::println);
        return 0;
    }

    private static Instant instant(String text) {
        return text == null ? null : Instant.parse(text);
    }
}
