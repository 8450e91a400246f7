package io.hsmkms.server.core;

import io.hsmkms.server.ciphertext.EncryptionContexts;
import io.hsmkms.server.store.GrantRepository;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. Grants take
 * effect at once (every request reads them from the store), so grant tokens carry no authority:
 * they only name a grant for RetireGrant and are accepted elsewhere for compatibility.
 */
public final class Grants {
    public static final int MAX_GRANTS_PER_KEY = 50_000;
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9:/_-]{1,256}");
    private static final String TOKEN_PREFIX = "hsmkms-grant-v1:";

    private final GrantRepository repository;
    private final KeyOperations keys;
    private final KeyNames names;
    private final AccessControl access;
    private final Clock clock;

    public Grants(GrantRepository repository, KeyOperations keys, KeyNames names, AccessControl access, Clock clock) {
        this.repository = repository;
        this.keys = keys;
        this.names = names;
        this.access = access;
        this.clock = clock;
    }

    /** A created grant: its id and a token that names it. */
    public record Created(String grantId, String grantToken) {}

    /** One page of grants. */
    public record Page(List<Grant> grants, boolean truncated) {}

    public Created create(Principal caller, String keyIdOrArn, String grantee, String retiring, Set<GrantOperation> operations,
                          Map<String, String> contextEquals, Map<String, String> contextSubset, String name) {
        if (!Principal.isValidArn(grantee)) {
            throw new KmsException(ErrorReason.VALIDATION, "GranteePrincipal must be a principal ARN.");
        }
        if (!retiring.isEmpty() && !Principal.isValidArn(retiring)) {
            throw new KmsException(ErrorReason.VALIDATION, "RetiringPrincipal must be a principal ARN.");
        }
        if (operations.isEmpty()) {
            throw new KmsException(ErrorReason.VALIDATION, "Operations must name at least one operation.");
        }
        if (contextEquals != null && contextSubset != null) {
            throw new KmsException(ErrorReason.VALIDATION,
                    "Use EncryptionContextEquals or EncryptionContextSubset, not both.");
        }
        for (Map<String, String> constraint : new Map[] {contextEquals, contextSubset}) {
            if (constraint != null) {
                EncryptionContexts.validate(constraint);
            }
        }
        if (!name.isEmpty() && !NAME.matcher(name).matches()) {
            throw new KmsException(ErrorReason.VALIDATION, "Name is 1..256 of [a-zA-Z0-9:/_-].");
        }
        ManagedKey key = keys.find(caller, names.resolve(keyIdOrArn, caller.accountId()), "kms:CreateGrant");
        access.requireKeyAction(caller, "kms:CreateGrant", key, null, c -> c
                .putAll("kms:GrantOperations", operations.stream().map(GrantOperation::apiName).toList())
                .put("kms:GranteePrincipal", grantee)
                .put("kms:RetiringPrincipal", retiring.isEmpty() ? null : retiring));
        Grant grant = new Grant(grantId(key.id(), name, grantee, retiring, operations, contextEquals, contextSubset),
                key.id(), name.isEmpty() ? null : name, grantee, retiring.isEmpty() ? null : retiring, operations,
                contextEquals, contextSubset, caller.accountId(), clock.instant().truncatedTo(ChronoUnit.MICROS));
        // The id is derived from the grant's content when it has a Name, so a retried CreateGrant
        // finds the grant it already made instead of making a second one.
        if (grant.name() == null || repository.find(key.id(), grant.grantId()).isEmpty()) {
            try {
                repository.insertGrant(grant, MAX_GRANTS_PER_KEY);
            } catch (IllegalStateException e) {
                throw new KmsException(ErrorReason.LIMIT_EXCEEDED, "The key has " + MAX_GRANTS_PER_KEY + " grants.");
            }
        }
        return new Created(grant.grantId(), token(key.id(), grant.grantId()));
    }

    public Page list(Principal caller, String keyIdOrArn, int limit, String marker, String grantId, String grantee) {
        int effectiveLimit = limit(limit);
        ManagedKey key = keys.authorized(caller, keyIdOrArn, "kms:ListGrants");
        List<Grant> grants = repository.forKey(key.id()).stream()
                .filter(g -> grantId.isEmpty() || g.grantId().equals(grantId))
                .filter(g -> grantee.isEmpty() || g.granteePrincipal().equals(grantee))
                .toList();
        return page(grants, effectiveLimit, marker);
    }

    /** Grants whose retiring principal is the given one (the caller's own by default). */
    public Page listRetirable(Principal caller, String retiringPrincipal, int limit, String marker) {
        int effectiveLimit = limit(limit);
        String retiring = retiringPrincipal.isEmpty() ? caller.arn() : retiringPrincipal;
        if (!Principal.isValidArn(retiring)) {
            throw new KmsException(ErrorReason.VALIDATION, "RetiringPrincipal must be a principal ARN.");
        }
        access.requireAccountAction(caller, "kms:ListRetirableGrants", c -> { });
        return page(repository.retirableBy(retiring), effectiveLimit, marker);
    }

    /**
     * Retires a grant named by its token or by key and grant id. Allowed to the grant's retiring
     * principal, and to its grantee when the grant includes RetireGrant.
     */
    public void retire(Principal caller, String grantToken, String keyIdOrArn, String grantId) {
        UUID keyId;
        String id;
        if (!grantToken.isEmpty()) {
            String[] parts = parseToken(grantToken);
            keyId = UUID.fromString(parts[0]);
            id = parts[1];
        } else {
            if (keyIdOrArn.isEmpty() || grantId.isEmpty()) {
                throw new KmsException(ErrorReason.VALIDATION, "Give GrantToken, or KeyId and GrantId.");
            }
            keyId = names.resolve(keyIdOrArn, caller.accountId()).id();
            id = grantId;
        }
        Grant grant = repository.find(keyId, id).orElseThrow(() -> new KmsException(ErrorReason.NOT_FOUND, "No such grant."));
        boolean retiringPrincipal = caller.arn().equals(grant.retiringPrincipal());
        boolean granteeMayRetire = caller.arn().equals(grant.granteePrincipal())
                && grant.operations().contains(GrantOperation.RETIRE_GRANT);
        if (!retiringPrincipal && !granteeMayRetire) {
            throw new KmsException(ErrorReason.ACCESS_DENIED,
                    caller.arn() + " is not authorized to perform kms:RetireGrant on the requested resource.");
        }
        repository.deleteGrant(keyId, id);
    }

    public void revoke(Principal caller, String keyIdOrArn, String grantId) {
        if (grantId.isEmpty()) {
            throw new KmsException(ErrorReason.VALIDATION, "GrantId is required.");
        }
        ManagedKey key = keys.authorized(caller, keyIdOrArn, "kms:RevokeGrant");
        if (!repository.deleteGrant(key.id(), grantId)) {
            throw new KmsException(ErrorReason.NOT_FOUND, "No such grant.");
        }
    }

    /** Grant tokens given with other requests: checked for shape, otherwise ignored (grants apply at once). */
    public static void acceptTokens(List<String> tokens) {
        if (tokens.size() > 10 || tokens.stream().anyMatch(t -> t.isEmpty() || t.length() > 8192)) {
            throw new KmsException(ErrorReason.VALIDATION, "GrantTokens: at most 10 tokens of 1..8192 characters.");
        }
    }

    private static String grantId(UUID keyId, String name, String grantee, String retiring, Set<GrantOperation> operations,
                                  Map<String, String> contextEquals, Map<String, String> contextSubset) {
        if (name.isEmpty()) {
            return HexFormat.of().formatHex(randomBytes());
        }
        String content = String.join("\n", keyId.toString(), name, grantee, retiring,
                operations.stream().map(Enum::name).sorted().toList().toString(),
                Objects.toString(contextEquals == null ? null : new java.util.TreeMap<>(contextEquals)),
                Objects.toString(contextSubset == null ? null : new java.util.TreeMap<>(contextSubset)));
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 32);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[32];
        new java.security.SecureRandom().nextBytes(bytes);
        return bytes;
    }

    private static String token(UUID keyId, String grantId) {
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((TOKEN_PREFIX + keyId + ":" + grantId).getBytes(StandardCharsets.UTF_8));
    }

    private static String[] parseToken(String token) {
        try {
            String text = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
            if (text.startsWith(TOKEN_PREFIX)) {
                String[] parts = text.substring(TOKEN_PREFIX.length()).split(":", 2);
                if (parts.length == 2) {
                    UUID.fromString(parts[0]);
                    return parts;
                }
            }
        } catch (IllegalArgumentException e) {
            // fall through: one error for every malformed token
        }
        throw new KmsException(ErrorReason.INVALID_GRANT_TOKEN, "The grant token is not valid.");
    }

    private static int limit(int limit) {
        int effective = limit == 0 ? 50 : limit;
        if (effective < 1 || effective > 100) {
            throw new KmsException(ErrorReason.VALIDATION, "Limit must be between 1 and 100.");
        }
        return effective;
    }

    private static Page page(List<Grant> grants, int limit, String marker) {
        List<Grant> after = marker.isEmpty() ? grants
                : grants.stream().filter(g -> g.grantId().compareTo(marker) > 0).toList();
        boolean truncated = after.size() > limit;
        return new Page(truncated ? after.subList(0, limit) : after, truncated);
    }
}
