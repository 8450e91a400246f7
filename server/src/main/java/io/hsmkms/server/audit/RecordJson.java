package io.hsmkms.server.audit;

import com.fasterxml.jackson.core.JsonGenerator;
import io.hsmkms.audit.TrailFiles;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;

/**
 * A record's own fields as one JSON object, written field by field with Jackson's generator. The
 * text is byte for byte what Jackson's ObjectMapper writes for the record as ordered maps (the
 * format of every trail so far; AuditTrailLineFormatTest compares the two): absent fields left out,
 * encryption context and details sorted by name. Building those maps for ObjectMapper was about a
 * third of the audit's share of the server's Java samples; streaming the same fields costs about a third less
 * (docs/benchmarks.md, "Access control and audit, trimmed").
 */
final class RecordJson {
    private RecordJson() {}

    static String of(AuditRecord record) {
        StringWriter out = new StringWriter(512);
        try (JsonGenerator json = TrailFiles.JSON.getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("eventTime", record.eventTime().toString());
            json.writeStringField("eventId", record.eventId());
            json.writeStringField("eventType", record.eventType().name());
            json.writeStringField("eventName", record.eventName());
            string(json, "requestId", record.requestId());
            if (record.principalArn() != null || record.authMethod() != null || record.sourceIp() != null) {
                json.writeObjectFieldStart("principal");
                string(json, "arn", record.principalArn());
                string(json, "accountId", record.accountId());
                string(json, "authMethod", record.authMethod());
                string(json, "sourceIp", record.sourceIp());
                json.writeEndObject();
            } else {
                string(json, "accountId", record.accountId());
            }
            if (!record.keys().isEmpty()) {
                json.writeArrayFieldStart("keys");
                for (AuditRecord.KeyUse key : record.keys()) {
                    json.writeStartObject();
                    string(json, "keyId", key.keyId());
                    string(json, "keyArn", key.keyArn());
                    if (key.version() != null) {
                        json.writeNumberField("version", key.version());
                    }
                    if (key.encryptionContext() != null) {
                        sorted(json, "encryptionContext", key.encryptionContext());
                    }
                    json.writeEndObject();
                }
                json.writeEndArray();
            }
            string(json, "alias", record.alias());
            string(json, "algorithm", record.algorithm());
            string(json, "grantId", record.grantId());
            json.writeStringField("outcome", record.outcome().name());
            string(json, "errorReason", record.errorReason());
            if (record.latencyMicros() != null) {
                json.writeNumberField("latencyMicros", record.latencyMicros());
            }
            if (!record.details().isEmpty()) {
                sorted(json, "details", record.details());
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail; kept typed for the caller's refusal
        }
        return out.toString();
    }

    private static void string(JsonGenerator json, String name, String value) throws IOException {
        if (value != null) {
            json.writeStringField(name, value);
        }
    }

    private static void sorted(JsonGenerator json, String name, Map<String, String> map) throws IOException {
        json.writeObjectFieldStart(name);
        @SuppressWarnings("unchecked")
        Map.Entry<String, String>[] entries = map.entrySet().toArray(new Map.Entry[0]);
        Arrays.sort(entries, Map.Entry.comparingByKey());
        for (Map.Entry<String, String> entry : entries) {
            if (entry.getValue() == null) {
                json.writeNullField(entry.getKey());
            } else {
                json.writeStringField(entry.getKey(), entry.getValue());
            }
        }
        json.writeEndObject();
    }
}
