package io.hsmkms.server.core;

import io.hsmkms.server.store.AliasRepository;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/**
 * CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias and its key are always in the same
 * account. Changing an alias is authorized on the key(s) it points to (kms:CreateAlias,
 * kms:UpdateAlias on the old and the new key, kms:DeleteAlias); listing is an account-level action.
 */
public final class Aliases {
    public static final int DEFAULT_LIST_LIMIT = 50;
    public static final int MAX_LIST_LIMIT = 100;

    private final AliasRepository repository;
    private final KeyOperations keys;
    private final KeyNames names;
    private final AccessControl access;
    private final Clock clock;

    public Aliases(AliasRepository repository, KeyOperations keys, KeyNames names, AccessControl access, Clock clock) {
        this.repository = repository;
        this.keys = keys;
        this.names = names;
        this.access = access;
        this.clock = clock;
    }

    /** One page of aliases. */
    public record Page(List<Alias> aliases, boolean truncated) {}

    public Alias create(Principal caller, String aliasName, String targetKeyId) {
        KeyNames.requireAliasName(aliasName);
        CallNotes.alias(aliasName);
        ManagedKey key = ownKey(caller, targetKeyId, "kms:CreateAlias");
        Instant now = now();
        Alias alias = new Alias(caller.accountId(), aliasName, key.id(), now, now);
        if (!repository.insertAlias(alias)) {
            throw new KmsException(ErrorReason.ALREADY_EXISTS, "Alias '" + aliasName + "' already exists.");
        }
        return alias;
    }

    /** Points an alias at another key of the same account: the manual-rotation pattern. */
    public void update(Principal caller, String aliasName, String targetKeyId) {
        KeyNames.requireAliasName(aliasName);
        CallNotes.alias(aliasName);
        Alias alias = existing(caller, aliasName);
        ManagedKey newKey = ownKey(caller, targetKeyId, "kms:UpdateAlias");
        ManagedKey oldKey = keys.find(caller, new KeyNames.KeyRef(caller.accountId(), alias.keyId()), "kms:UpdateAlias");
        access.requireKeyAction(caller, "kms:UpdateAlias", oldKey, null, c -> c.put("kms:RequestAlias", aliasName));
        if (!repository.retargetAlias(caller.accountId(), aliasName, newKey.id(), now())) {
            throw notFound(aliasName);
        }
    }

    public void delete(Principal caller, String aliasName) {
        KeyNames.requireAliasName(aliasName);
        CallNotes.alias(aliasName);
        Alias alias = existing(caller, aliasName);
        ManagedKey key = keys.find(caller, new KeyNames.KeyRef(caller.accountId(), alias.keyId()), "kms:DeleteAlias");
        access.requireKeyAction(caller, "kms:DeleteAlias", key, null, c -> c.put("kms:RequestAlias", aliasName));
        if (!repository.deleteAlias(caller.accountId(), aliasName)) {
            throw notFound(aliasName);
        }
    }

    /** The caller's account's aliases, or those of one key ({@code keyId} not empty). */
    public Page list(Principal caller, String keyId, int limit, String marker) {
        int effective = limit == 0 ? DEFAULT_LIST_LIMIT : limit;
        if (effective < 1 || effective > MAX_LIST_LIMIT) {
            throw new KmsException(ErrorReason.VALIDATION, "Limit must be between 1 and " + MAX_LIST_LIMIT + ".");
        }
        if (!marker.isEmpty()) {
            KeyNames.requireAliasName(marker);
        }
        UUID key = keyId.isEmpty() ? null : names.resolve(keyId, caller.accountId()).id();
        access.requireAccountAction(caller, "kms:ListAliases", c -> { });
        List<Alias> found = repository.listAliases(caller.accountId(), key, marker, effective + 1);
        boolean truncated = found.size() > effective;
        return new Page(truncated ? found.subList(0, effective) : found, truncated);
    }

    private ManagedKey ownKey(Principal caller, String keyIdOrArn, String action) {
        if (KeyNames.isAlias(keyIdOrArn)) {
            throw new KmsException(ErrorReason.VALIDATION, "TargetKeyId must be a key id or key ARN, not an alias.");
        }
        KeyNames.KeyRef ref = names.resolve(keyIdOrArn, caller.accountId());
        if (!ref.accountId().equals(caller.accountId())) {
            throw new KmsException(ErrorReason.VALIDATION, "An alias and its key must be in the same account.");
        }
        ManagedKey key = keys.find(caller, ref, action);
        access.requireKeyAction(caller, action, key, null, c -> { });
        return key;
    }

    private Alias existing(Principal caller, String aliasName) {
        return repository.findAlias(caller.accountId(), aliasName).orElseThrow(() -> notFound(aliasName));
    }

    private static KmsException notFound(String aliasName) {
        return new KmsException(ErrorReason.NOT_FOUND, "Alias '" + aliasName + "' does not exist.");
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
