package io.hsmkms.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * The records of a trail directory that match a filter, in trail order, exactly as written. Lines
 * that are not JSON are skipped: {@link AuditVerifier} reports them; a query shows what can be read.
 */
public final class AuditQuery {

    /**
     * Each field null means "any". {@code key} matches a record naming that key id or key ARN;
     * {@code action} is the event name; {@code since} inclusive, {@code until} exclusive.
     */
    public record Filter(String key, String principal, String action, String outcome, Instant since, Instant until) {
        public static final Filter ALL = new Filter(null, null, null, null, null, null);

        public boolean matches(JsonNode record) {
            Instant time = Instant.parse(record.path("eventTime").asText("1970-01-01T00:00:00Z"));
            if ((since != null && time.isBefore(since)) || (until != null && !time.isBefore(until))) {
                return false;
            }
            if (action != null && !action.equals(record.path("eventName").asText())) {
                return false;
            }
            if (outcome != null && !outcome.equals(record.path("outcome").asText())) {
                return false;
            }
            if (principal != null && !principal.equals(record.path("principal").path("arn").asText())) {
                return false;
            }
            if (key != null) {
                for (JsonNode use : record.path("keys")) {
                    if (key.equals(use.path("keyId").asText()) || key.equals(use.path("keyArn").asText())) {
                        return true;
                    }
                }
                return false;
            }
            return true;
        }
    }

    private AuditQuery() {}

    /** Hands every matching line to {@code out}; returns how many matched. */
    public static long run(Path dir, Filter filter, Consumer<String> out) throws IOException {
        long matched = 0;
        for (Path file : TrailFiles.logFiles(dir)) {
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = reader.readLine()) != null) {
                    if (line.startsWith("\0")) {
                        break; // the zeros the writer allocates ahead in the open file: no records after them
                    }
                    JsonNode record;
                    try {
                        record = TrailFiles.JSON.readTree(line);
                    } catch (IOException e) {
                        continue;
                    }
                    if (record != null && filter.matches(record)) {
                        out.accept(line);
                        matched++;
                    }
                }
            }
        }
        return matched;
    }
}
