package io.hsmkms.server.audit;

import java.time.Instant;
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
}
