package io.hsmkms.server.core;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * A grant: lets one principal (the grantee) perform some operations with one key, optionally only
 * with a given encryption context. Grants only allow; they never deny and never override an
 * explicit Deny in a policy.
 */
public record Grant(String grantId, UUID keyId, String name, String granteePrincipal, String retiringPrincipal,
                    Set<GrantOperation> operations, Map<String, String> contextEquals, Map<String, String> contextSubset,
                    String issuingAccount, Instant createdAt) {

    public Grant {
        Objects.requireNonNull(grantId, "grantId");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(granteePrincipal, "granteePrincipal");
        operations = Set.copyOf(operations);
        contextEquals = contextEquals == null ? null : Map.copyOf(contextEquals);
        contextSubset = contextSubset == null ? null : Map.copyOf(contextSubset);
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /**
     * Whether this grant lets {@code principalArn} do {@code operation}. The context constraints
     * apply to cryptographic operations only; constraint keys match case-insensitively and values
     * exactly, as in AWS KMS.
     */
    public boolean allows(String principalArn, GrantOperation operation, Map<String, String> encryptionContext) {
        if (!granteePrincipal.equals(principalArn) || !operations.contains(operation)) {
            return false;
        }
        if (!operation.takesEncryptionContext()) {
            return true;
        }
        Map<String, String> request = caseInsensitiveKeys(encryptionContext);
        if (contextEquals != null && !caseInsensitiveKeys(contextEquals).equals(request)) {
            return false;
        }
        if (contextSubset != null) {
            for (Map.Entry<String, String> pair : caseInsensitiveKeys(contextSubset).entrySet()) {
                if (!pair.getValue().equals(request.get(pair.getKey()))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static Map<String, String> caseInsensitiveKeys(Map<String, String> context) {
        Map<String, String> out = new TreeMap<>();
        context.forEach((k, v) -> out.put(k.toLowerCase(Locale.ROOT), v));
        return out;
    }
}
