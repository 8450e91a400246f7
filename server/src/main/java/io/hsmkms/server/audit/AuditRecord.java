package io.hsmkms.server.audit;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * One entry of the audit trail: an API call (allowed, denied, invalid or failed) or a service
 * event (something the service did by itself, such as an automatic rotation). Holds what an
 * auditor asks about, never plaintext, ciphertext, data keys, PINs or policy text; encryption
 * context is recorded because it is not secret and is what ties a decryption to its data.
 *
 * @param keys         the keys the call used, in the order it loaded them (ReEncrypt: source, destination)
 * @param latencyMicros null for service events
 * @param details      extra facts of a service event (e.g. how many versions a deletion destroyed)
 */
public record AuditRecord(Instant eventTime, String eventId, Type eventType, String eventName, String requestId,
                          String principalArn, String accountId, String authMethod, String sourceIp, List<KeyUse> keys,
                          String alias, String algorithm, String grantId, Outcome outcome, String errorReason,
                          Long latencyMicros, Map<String, String> details) {

    public enum Type { ApiCall, ServiceEvent }

    /**
     * Allowed: the call was permitted and answered. Denied: authentication or authorization refused
     * it. Invalid: the request could not be served as asked (bad input, unknown key, wrong state).
     * Failed: the service or the HSM could not serve it.
     */
    public enum Outcome { Allowed, Denied, Invalid, Failed, Succeeded }

    /** One key a call used: the backing version and encryption context where the call had them. */
    public record KeyUse(String keyId, String keyArn, Integer version, Map<String, String> encryptionContext) {}

    public AuditRecord {
        Objects.requireNonNull(eventTime);
        Objects.requireNonNull(eventId);
        Objects.requireNonNull(eventType);
        Objects.requireNonNull(eventName);
        Objects.requireNonNull(outcome);
        keys = keys == null ? List.of() : List.copyOf(keys);
        details = details == null ? Map.of() : Map.copyOf(details);
    }

    /** A service event about one key (the service acted on its own: no caller, no request). */
    public static AuditRecord serviceEvent(Instant time, String eventName, String keyId, String keyArn, String accountId,
                                           Map<String, String> details) {
        return new AuditRecord(time, UUID.randomUUID().toString(), Type.ServiceEvent, eventName, null, null, accountId,
                null, null, List.of(new KeyUse(keyId, keyArn, null, null)), null, null, null, Outcome.Succeeded, null,
                null, details);
    }

    /** The fields in the order they are written; absent ones are left out. */
    Map<String, Object> fields() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("eventTime", eventTime.toString());
        out.put("eventId", eventId);
        out.put("eventType", eventType.name());
        out.put("eventName", eventName);
        putIfPresent(out, "requestId", requestId);
        if (principalArn != null || authMethod != null || sourceIp != null) {
            Map<String, Object> identity = new LinkedHashMap<>();
            putIfPresent(identity, "arn", principalArn);
            putIfPresent(identity, "accountId", accountId);
            putIfPresent(identity, "authMethod", authMethod);
            putIfPresent(identity, "sourceIp", sourceIp);
            out.put("principal", identity);
        } else {
            putIfPresent(out, "accountId", accountId);
        }
        if (!keys.isEmpty()) {
            out.put("keys", keys.stream().map(AuditRecord::keyFields).toList());
        }
        putIfPresent(out, "alias", alias);
        putIfPresent(out, "algorithm", algorithm);
        putIfPresent(out, "grantId", grantId);
        out.put("outcome", outcome.name());
        putIfPresent(out, "errorReason", errorReason);
        putIfPresent(out, "latencyMicros", latencyMicros);
        if (!details.isEmpty()) {
            out.put("details", new java.util.TreeMap<>(details));
        }
        return out;
    }

    private static Map<String, Object> keyFields(KeyUse key) {
        Map<String, Object> out = new LinkedHashMap<>();
        putIfPresent(out, "keyId", key.keyId());
        putIfPresent(out, "keyArn", key.keyArn());
        putIfPresent(out, "version", key.version());
        if (key.encryptionContext() != null) {
            out.put("encryptionContext", new java.util.TreeMap<>(key.encryptionContext()));
        }
        return out;
    }

    private static void putIfPresent(Map<String, Object> map, String name, Object value) {
        if (value != null) {
            map.put(name, value);
        }
    }
}
