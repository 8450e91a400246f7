package io.hsmkms.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Timestamp;
import io.hsmkms.audit.AuditQuery;
import io.hsmkms.audit.AuditVerifier;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.proto.v1.AuditEvent;
import io.hsmkms.proto.v1.WatchEventsRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "audit", description = {"Watch audit events live (WatchEvents); verify and query a trail directory",
        "offline (no server, no HSM: the same verifier as bin/audit)."},
        subcommands = {AuditCommands.Watch.class, AuditCommands.Verify.class, AuditCommands.Query.class})
final class AuditCommands {
    private AuditCommands() {}

    @Command(name = "watch", description = {
            "Prints the account's audit events as the service records them, one line each.",
            "Runs until interrupted or --count events were printed. By default service events and calls that change something;",
            "--all adds cryptographic calls and reads. No reconnect: a broken stream ends the command",
            "(exit 4 when the service went away); query the trail files for what happened meanwhile.",
            "--output json prints each record exactly as written to the trail."})
    static final class Watch extends KmsCommand {
        @Option(names = "--key-id", paramLabel = "KEY", description = "Only events naming this key (id or ARN).")
        String keyId;
        @Option(names = "--event-name", paramLabel = "NAME", description = "Only these events, e.g. DeleteKey (repeatable).")
        List<String> eventNames;
        @Option(names = "--all", description = "Include the data plane and reads (Encrypt, Decrypt, DescribeKey...).")
        boolean all;
        @Option(names = "--count", paramLabel = "N", description = "Stop after N events.")
        Integer count;

        @Override
        public Integer call() {
            if (count != null && count < 1) {
                throw usage(spec, "--count must be at least 1");
            }
            WatchEventsRequest.Builder request = WatchEventsRequest.newBuilder().setIncludeDataPlane(all);
            if (keyId != null) {
                request.setKeyId(keyId);
            }
            if (eventNames != null) {
                request.addAllEventNames(eventNames);
            }
            boolean json = root().json();
            PrintWriter out = spec.commandLine().getOut();
            int[] printed = {0};
            try {
                kms().watchEvents(request.build(), event -> {
                    out.println(json ? event.getRecordJson() : line(event));
                    out.flush();
                    if (count != null && ++printed[0] >= count) {
                        throw new Enough();
                    }
                });
            } catch (Enough done) {
                // --count reached; watchEvents cancelled the stream.
            }
            return Hsmkms.ExitCodes.OK;
        }

        /** time, event name, outcome (with the reason when it failed), key ARNs. */
        static String line(AuditEvent event) {
            Timestamp t = event.getEventTime();
            String outcome = event.getErrorReason().isEmpty() ? event.getOutcome()
                    : event.getOutcome() + "(" + event.getErrorReason() + ")";
            return String.join("  ", Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString(),
                    event.getEventName(), outcome,
                    event.getKeyArnsList().isEmpty() ? "-" : String.join(",", event.getKeyArnsList()));
        }
    }

    /** What verify and query share: the trail directory, as bin/audit finds it. */
    abstract static class Offline extends KmsCommand {
        @Option(names = "--dir", paramLabel = "DIR",
                description = "Trail directory (default $HSMKMS_AUDIT_DIR, else $HSMKMS_DATA_DIR/audit, else data/audit).")
        Path dir;

        Path trail() {
            Path trail = dir != null ? dir : TrailFiles.defaultDir(root().env());
            if (!Files.isDirectory(trail)) {
                throw new Hsmkms.CliException(Hsmkms.ExitCodes.LOCAL, "no audit trail directory at " + trail);
            }
            return trail;
        }
    }

    @Command(name = "verify", description = {
            "Checks a trail directory offline: hash chain, signed digests, order; prints where it is broken.",
            "Exit 0 when intact, 1 when not (as bin/audit verify)."})
    static final class Verify extends Offline {
        @Option(names = "--public-key", paramLabel = "PEM",
                description = "Trust only digests signed with this key (else the keys stored in the directory).")
        Path publicKey;

        @Override
        public Integer call() throws IOException {
            Path trail = trail();
            AuditVerifier.Report report = AuditVerifier.verify(trail,
                    publicKey == null ? null : AuditVerifier.readPublicKey(publicKey));
            PrintWriter out = spec.commandLine().getOut();
            report.lines().forEach(out::println);
            out.flush();
            return report.intact() ? Hsmkms.ExitCodes.OK : Hsmkms.ExitCodes.KMS;
        }
    }

    @Command(name = "query", description = {
            "Prints the trail's records that match every filter given, offline.",
            "--output json prints the records exactly as written (pipe to jq);",
            "table: time, event, outcome, principal, key ARNs."})
    static final class Query extends Offline {
        @Option(names = "--key", paramLabel = "KEY_ID|KEY_ARN", description = "Records naming this key.")
        String key;
        @Option(names = "--principal", paramLabel = "ARN", description = "Records of this caller.")
        String principal;
        @Option(names = "--action", paramLabel = "NAME", description = "Event name, e.g. Decrypt or ScheduleKeyDeletion.")
        String action;
        @Option(names = "--outcome", paramLabel = "OUTCOME", description = "Allowed, Denied, Invalid, Failed or Succeeded.")
        String outcome;
        @Option(names = "--since", paramLabel = "ISO_TIME", description = "From this instant (inclusive), e.g. 2026-11-24T00:00:00Z.")
        String since;
        @Option(names = "--until", paramLabel = "ISO_TIME", description = "Up to this instant (exclusive).")
        String until;

        @Override
        public Integer call() throws IOException {
            AuditQuery.Filter filter = new AuditQuery.Filter(key, principal, action, outcome, instant("--since", since),
                    instant("--until", until));
            Path trail = trail();
            boolean json = root().json();
            PrintWriter out = spec.commandLine().getOut();
            AuditQuery.run(trail, filter, line -> out.println(json ? line : row(line)));
            out.flush();
            return Hsmkms.ExitCodes.OK;
        }

        private Instant instant(String option, String text) {
            try {
                return text == null ? null : Instant.parse(text);
            } catch (DateTimeParseException e) {
                throw usage(spec, option + " takes an ISO-8601 instant, e.g. 2026-11-24T00:00:00Z, not '" + text + "'");
            }
        }

        private static String row(String line) {
            JsonNode record;
            try {
                record = TrailFiles.JSON.readTree(line);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // AuditQuery hands over only lines it could parse
            }
            String outcome = record.path("outcome").asText();
            if (record.hasNonNull("errorReason")) {
                outcome += "(" + record.get("errorReason").asText() + ")";
            }
            List<String> arns = new ArrayList<>();
            record.path("keys").forEach(k -> arns.add(k.path("keyArn").asText(k.path("keyId").asText())));
            return String.join("  ", record.path("eventTime").asText(), record.path("eventName").asText(), outcome,
                    record.path("principal").path("arn").asText("-"), arns.isEmpty() ? "-" : String.join(",", arns));
        }
    }

    /** Thrown from the event consumer to stop the watch after --count events. */
    private static final class Enough extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Enough() {
            super(null, null, false, false);
        }
    }
}
