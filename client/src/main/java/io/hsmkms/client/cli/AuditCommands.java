package io.hsmkms.client.cli;

import com.google.protobuf.Timestamp;
import io.hsmkms.proto.v1.AuditEvent;
import io.hsmkms.proto.v1.WatchEventsRequest;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "audit", description = "Watch audit events live (WatchEvents).",
        subcommands = {AuditCommands.Watch.class})
final class AuditCommands {
    private AuditCommands() {}

    @Command(name = "watch", description = {
            "Prints the account's audit events as the service records them, one line each, until interrupted",
            "or --count events were printed. By default service events and calls that change something;",
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

    /** Thrown from the event consumer to stop the watch after --count events. */
    private static final class Enough extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Enough() {
            super(null, null, false, false);
        }
    }
}
