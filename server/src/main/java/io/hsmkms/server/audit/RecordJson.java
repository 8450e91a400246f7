package io.hsmkms.server.audit;

import java.util.Arrays;
import java.util.Map;

/**
 * A record's own fields as one JSON object in UTF-8, written field by field. The bytes are what
 * Jackson's ObjectMapper writes for the record as ordered maps (the format of every trail so far;
 * AuditTrailLineFormatTest compares the two): absent fields left out, encryption context and
 * details sorted by name. Building those maps for ObjectMapper was about a third of the audit's
 * share of the server's Java samples; streaming the fields with Jackson's generator cost about a
 * third less, and writing the bytes directly ({@link JsonBytes}) less again (docs/benchmarks.md).
 */
final class RecordJson {
    private RecordJson() {}

    static byte[] of(AuditRecord record) {
        JsonBytes json = new JsonBytes(1024); // a Decrypt's record is about 600 bytes: grown rarely
        json.startObject();
        json.name("eventTime").string(record.eventTime().toString());
        json.name("eventId").string(record.eventId());
        json.name("eventType").string(record.eventType().name());
        json.name("eventName").string(record.eventName());
        string(json, "requestId", record.requestId());
        if (record.principalArn() != null || record.authMethod() != null || record.sourceIp() != null) {
            json.name("principal").startObject();
            string(json, "arn", record.principalArn());
            string(json, "accountId", record.accountId());
            string(json, "authMethod", record.authMethod());
            string(json, "sourceIp", record.sourceIp());
            json.endObject();
        } else {
            string(json, "accountId", record.accountId());
        }
        if (!record.keys().isEmpty()) {
            json.name("keys").startArray();
            for (AuditRecord.KeyUse key : record.keys()) {
                json.startObject();
                string(json, "keyId", key.keyId());
                string(json, "keyArn", key.keyArn());
                if (key.version() != null) {
                    json.name("version").number(key.version());
                }
                if (key.encryptionContext() != null) {
                    sorted(json, "encryptionContext", key.encryptionContext());
                }
                json.endObject();
            }
            json.endArray();
        }
        string(json, "alias", record.alias());
        string(json, "algorithm", record.algorithm());
        string(json, "grantId", record.grantId());
        json.name("outcome").string(record.outcome().name());
        string(json, "errorReason", record.errorReason());
        if (record.latencyMicros() != null) {
            json.name("latencyMicros").number(record.latencyMicros());
        }
        if (!record.details().isEmpty()) {
            sorted(json, "details", record.details());
        }
        json.endObject();
        return json.toByteArray();
    }

    private static void string(JsonBytes json, String name, String value) {
        if (value != null) {
            json.name(name).string(value);
        }
    }

    private static void sorted(JsonBytes json, String name, Map<String, String> map) {
        json.name(name).startObject();
        @SuppressWarnings("unchecked")
        Map.Entry<String, String>[] entries = map.entrySet().toArray(new Map.Entry[0]);
        Arrays.sort(entries, Map.Entry.comparingByKey());
        for (Map.Entry<String, String> entry : entries) {
            json.name(entry.getKey());
            if (entry.getValue() == null) {
                json.nullValue();
            } else {
                json.string(entry.getValue());
            }
        }
        json.endObject();
    }
}
