package io.hsmkms.server.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hsmkms.server.audit.AuditVerifier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code bin/audit verify|query}: checks a trail directory offline, or prints the records that
 * match a filter. Needs neither the server nor the HSM: digests are checked with the public key.
 * Exit codes: 0 intact / query done, 1 the trail is not intact, 2 usage error.
 */
public final class AuditTool {
    private static final ObjectMapper JSON = new ObjectMapper();
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
        Path dir = Path.of(options.getOrDefault("dir", defaultDir()));
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
        for (AuditVerifier.Problem problem : report.problems()) {
            out.println("BROKEN " + problem);
        }
        out.printf("%d records in %d files; %d after the last signed digest; digests checked against %s %s%n",
                report.records(), report.files(), report.unsignedRecords(),
                report.keyPinned() ? "the pinned key" : "the key(s) stored in the directory (pin one with --public-key)",
                report.trustedKeys().stream().map(k -> k.substring(0, 16)).toList());
        out.println(report.intact() ? "INTACT" : "NOT INTACT: " + report.problems().size() + " problem(s)");
        return report.intact() ? 0 : 1;
    }

    private static int query(Path dir, Map<String, String> options, PrintStream out, PrintStream err) throws IOException {
        Instant since;
        Instant until;
        try {
            since = options.containsKey("since") ? Instant.parse(options.get("since")) : Instant.MIN;
            until = options.containsKey("until") ? Instant.parse(options.get("until")) : Instant.MAX;
        } catch (java.time.format.DateTimeParseException e) {
            err.println("--since and --until take ISO-8601 instants, e.g. 2026-11-24T00:00:00Z");
            return 2;
        }
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = new ArrayList<>(listing.filter(p -> p.getFileName().toString().matches("audit-\\d{20}\\.jsonl")).sorted().toList());
        }
        for (Path file : files) {
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = reader.readLine()) != null) {
                    JsonNode record;
                    try {
                        record = JSON.readTree(line);
                    } catch (IOException e) {
                        continue; // verify reports such lines; query shows what can be read
                    }
                    if (matches(record, options, since, until)) {
                        out.println(line);
                    }
                }
            }
        }
        return 0;
    }

    private static boolean matches(JsonNode record, Map<String, String> options, Instant since, Instant until) {
        Instant time = Instant.parse(record.path("eventTime").asText("1970-01-01T00:00:00Z"));
        if (time.isBefore(since) || !time.isBefore(until)) {
            return false;
        }
        if (options.containsKey("action") && !options.get("action").equals(record.path("eventName").asText())) {
            return false;
        }
        if (options.containsKey("outcome") && !options.get("outcome").equals(record.path("outcome").asText())) {
            return false;
        }
        if (options.containsKey("principal") && !options.get("principal").equals(record.path("principal").path("arn").asText())) {
            return false;
        }
        if (options.containsKey("key")) {
            String key = options.get("key");
            boolean found = false;
            for (JsonNode use : record.path("keys")) {
                found |= key.equals(use.path("keyId").asText()) || key.equals(use.path("keyArn").asText());
            }
            return found;
        }
        return true;
    }

    private static String defaultDir() {
        String dir = System.getenv("HSMKMS_AUDIT_DIR");
        if (dir != null && !dir.isBlank()) {
            return dir;
        }
        String data = System.getenv("HSMKMS_DATA_DIR");
        return Path.of(data == null || data.isBlank() ? "data" : data, "audit").toString();
    }
}
