package io.hsmkms.server.core;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.server.policy.AccessRequest;
import io.hsmkms.server.policy.Decision;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.store.AliasRepository;
import io.hsmkms.server.store.ConcurrentUpdateException;
import io.hsmkms.server.store.KeyRepository;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The control plane: creating keys, reading and changing their metadata and key policy. */
public final class KeyOperations {
    private static final Logger LOG = LoggerFactory.getLogger(KeyOperations.class);
    public static final int MAX_DESCRIPTION_LENGTH = 8192;
    public static final int DEFAULT_LIST_LIMIT = 100;
    public static final int MAX_LIST_LIMIT = 1000;
    public static final int MIN_DELETION_WINDOW_DAYS = 7;
    public static final int MAX_DELETION_WINDOW_DAYS = 30;
    public static final int DEFAULT_DELETION_WINDOW_DAYS = 30;
    public static final int MIN_ROTATION_PERIOD_DAYS = 90;
    public static final int MAX_ROTATION_PERIOD_DAYS = 2560;
    public static final int DEFAULT_ROTATION_PERIOD_DAYS = 365;
    /** As AWS KMS: at most 10 on-demand rotations per key. */
    public static final int MAX_ON_DEMAND_ROTATIONS = 10;
    private static final int UPDATE_ATTEMPTS = 3;
    private static final java.security.SecureRandom LABEL_RANDOM = new java.security.SecureRandom();

    /** A key a request named, and the alias it named it by (null when named by id or ARN). */
    public record Target(ManagedKey key, String alias) {}

    private final Hsm hsm;
    private final KeyRepository repository;
    private final AliasRepository aliases;
    private final KeyNames names;
    private final AccessControl access;
    private final Clock clock;

    public KeyOperations(Hsm hsm, KeyRepository repository, AliasRepository aliases, KeyNames names,
                         AccessControl access, Clock clock) {
        this.hsm = hsm;
        this.repository = repository;
        this.aliases = aliases;
        this.names = names;
        this.access = access;
        this.clock = clock;
    }

    /** The HSM label of a backing key version; never reused because key ids are never reused. */
    static String hsmLabel(UUID keyId, int version) {
        return "hsmkms/" + keyId + "/" + version;
    }

    /**
     * The label of a version made by rotation: {@code hsmkms/<keyId>/<version>/<16 random hex digits>}. Two nodes
     * rotating one key at the same moment both make version n+1; with the bare label both would store an object
     * under the same name, and SunPKCS11's setEntry on a label it already knows destroys the existing object (or,
     * not yet knowing it, makes a duplicate that stops the KeyStore from loading). The suffix gives every attempt its
     * own object; the metadata's optimistic update picks the one winner and the loser destroys only its own object.
     */
    static String rotationLabel(UUID keyId, int version) {
        byte[] suffix = new byte[8];
        LABEL_RANDOM.nextBytes(suffix);
        return hsmLabel(keyId, version) + "/" + java.util.HexFormat.of().formatHex(suffix);
    }

    /**
     * @param policy the key policy JSON, or empty for the account's default policy
     * @param tags   tags for the new key; setting them also needs kms:TagResource (identity policy)
     */
    public ManagedKey create(Principal caller, String description, KeySpec spec, KeyUsage usage, KeyOrigin origin,
                             String policy, boolean bypassLockoutCheck, Map<String, String> tags) {
        requireDescription(description);
        Tags.validate(tags);
        Tags.requireWithinLimit(tags);
        String policyText = policy.isEmpty() ? KeyPolicies.defaultPolicy(caller.accountId()) : policy;
        PolicyDocument document = KeyPolicies.parse(policyText);
        access.requireAccountAction(caller, "kms:CreateKey", c -> c.put("kms:KeyOrigin", origin.name())
                .put("kms:KeySpec", spec.name()).put("kms:KeyUsage", usage.name()));
        if (!tags.isEmpty()) {
            access.requireAccountAction(caller, "kms:TagResource", Tags.requestTags(tags));
        }
        UUID id = UUID.randomUUID();
        // As in AWS KMS the check guards a policy the caller wrote; the default policy is the account's.
        if (!bypassLockoutCheck && !policy.isEmpty()) {
            requireCallerKeepsControl(caller, document, names.arn(caller.accountId(), id));
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (origin == KeyOrigin.EXTERNAL) {
            // No material yet: ImportKeyMaterial brings it.
            return created(repository.insert(new ManagedKey(id, caller.accountId(), now, description,
                    KeyState.PENDING_IMPORT, spec, usage, origin, List.of(), policyText, tags, null, ManagedKey.Rotation.OFF,
                    ManagedKey.Imported.NONE, 0)));
        }
        String label = hsmLabel(id, 1);
        // Material first, metadata second: a crash in between leaves an orphan HSM object, never
        // metadata that points at missing material.
        HsmKeyRef ref = HsmCalls.call(() -> hsm.generateAesKey(label));
        ManagedKey key = new ManagedKey(id, caller.accountId(), now, description, KeyState.ENABLED, spec, usage,
                KeyOrigin.HSM, List.of(new KeyVersion(1, ref.label(), now)), policyText, tags, null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0);
        try {
            return created(repository.insert(key));
        } catch (RuntimeException e) {
            discardOrphan(ref);
            throw e;
        }
    }

    /** The audit record of a CreateKey names the key it made. */
    private ManagedKey created(ManagedKey key) {
        CallNotes.key(key, names.arn(key));
        if (!key.versions().isEmpty()) {
            CallNotes.version(key, key.currentVersion().number());
        }
        return key;
    }

    /** DescribeKey accepts key ids, key ARNs, alias names and alias ARNs. */
    public ManagedKey describe(Principal caller, String keyIdAliasOrArn) {
        Target target = target(caller, keyIdAliasOrArn, "kms:DescribeKey");
        access.requireKeyAction(caller, "kms:DescribeKey", target.key(), null, requestAlias(target));
        return target.key();
    }

    /**
     * Resolves a key id, key ARN, alias name or alias ARN to a key, for the operations that accept
     * aliases (DescribeKey and the cryptographic ones), without authorizing.
     */
    public Target target(Principal caller, String keyIdAliasOrArn, String action) {
        if (!KeyNames.isAlias(keyIdAliasOrArn)) {
            return new Target(find(caller, names.resolve(keyIdAliasOrArn, caller.accountId()), action), null);
        }
        KeyNames.AliasRef ref = names.resolveAlias(keyIdAliasOrArn, caller.accountId());
        CallNotes.alias(ref.name());
        Alias alias = aliases.findAlias(ref.accountId(), ref.name())
                .orElseThrow(() -> access.missingAlias(caller, ref, action));
        return new Target(find(caller, new KeyNames.KeyRef(ref.accountId(), alias.keyId()), action), ref.name());
    }

    /** Adds kms:RequestAlias when the request named the key by an alias. */
    static java.util.function.Consumer<io.hsmkms.server.policy.ConditionContext.Builder> requestAlias(Target target) {
        return c -> c.put("kms:RequestAlias", target.alias());
    }

    /** Watching the account's audit events is an account-level permission, like ListKeys. */
    public void authorizeWatchEvents(Principal caller) {
        access.requireAccountAction(caller, "kms:WatchEvents", c -> { });
    }

    public KeyRepository.Page list(Principal caller, int limit, String marker) {
        int effectiveLimit = listLimit(limit);
        UUID after = null;
        if (!marker.isEmpty()) {
            try {
                after = UUID.fromString(marker);
            } catch (IllegalArgumentException e) {
                throw new KmsException(ErrorReason.VALIDATION, "Marker is not one this service returned.");
            }
        }
        access.requireAccountAction(caller, "kms:ListKeys", c -> { });
        return repository.list(caller.accountId(), effectiveLimit, after);
    }

    public ManagedKey enable(Principal caller, String keyIdOrArn) {
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:EnableKey");
        return change(key, k -> {
            requireNotPendingDeletion(k);
            requireMaterial(k);
            return k.state() == KeyState.ENABLED ? null : k.withState(KeyState.ENABLED);
        });
    }

    public ManagedKey disable(Principal caller, String keyIdOrArn) {
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:DisableKey");
        return change(key, k -> {
            requireNotPendingDeletion(k);
            requireMaterial(k);
            return k.state() == KeyState.DISABLED ? null : k.withState(KeyState.DISABLED);
        });
    }

    /** Puts the key in PENDING_DELETION; its material is destroyed after the window by {@link KeyDeletion}. */
    public ManagedKey scheduleDeletion(Principal caller, String keyIdOrArn, int pendingWindowInDays) {
        int days = pendingWindowInDays == 0 ? DEFAULT_DELETION_WINDOW_DAYS : pendingWindowInDays;
        if (days < MIN_DELETION_WINDOW_DAYS || days > MAX_DELETION_WINDOW_DAYS) {
            throw new KmsException(ErrorReason.VALIDATION, "PendingWindowInDays must be between "
                    + MIN_DELETION_WINDOW_DAYS + " and " + MAX_DELETION_WINDOW_DAYS + ".");
        }
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:ScheduleKeyDeletion");
        Instant deletionDate = clock.instant().plus(java.time.Duration.ofDays(days)).truncatedTo(ChronoUnit.MICROS);
        return change(key, k -> {
            requireNotPendingDeletion(k);
            return k.withDeletion(KeyState.PENDING_DELETION, deletionDate);
        });
    }

    /** Saves a key pending deletion; it comes back DISABLED, as in AWS KMS. */
    public ManagedKey cancelDeletion(Principal caller, String keyIdOrArn) {
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:CancelKeyDeletion");
        return change(key, k -> {
            if (k.state() != KeyState.PENDING_DELETION) {
                throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(k) + "' is not pending deletion"
                        + (k.state() == KeyState.DELETING ? " any more: it is being deleted." : "."));
            }
            // An EXTERNAL key without material goes back to waiting for it, not to DISABLED.
            boolean noMaterial = k.origin() == KeyOrigin.EXTERNAL && !k.imported().present();
            return k.withDeletion(noMaterial ? KeyState.PENDING_IMPORT : KeyState.DISABLED, null);
        });
    }

    public ManagedKey enableRotation(Principal caller, String keyIdOrArn, int periodInDays) {
        int days = periodInDays == 0 ? DEFAULT_ROTATION_PERIOD_DAYS : periodInDays;
        if (days < MIN_ROTATION_PERIOD_DAYS || days > MAX_ROTATION_PERIOD_DAYS) {
            throw new KmsException(ErrorReason.VALIDATION, "RotationPeriodInDays must be between "
                    + MIN_ROTATION_PERIOD_DAYS + " and " + MAX_ROTATION_PERIOD_DAYS + ".");
        }
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:EnableKeyRotation");
        Instant next = clock.instant().plus(java.time.Duration.ofDays(days)).truncatedTo(ChronoUnit.MICROS);
        return change(key, k -> {
            requireEnabledForRotation(k);
            return k.withRotation(new ManagedKey.Rotation(true, days, next, k.rotation().onDemandCount()));
        });
    }

    public ManagedKey disableRotation(Principal caller, String keyIdOrArn) {
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:DisableKeyRotation");
        return change(key, k -> {
            requireEnabledForRotation(k);
            return k.rotation().enabled() ? k.withRotation(new ManagedKey.Rotation(false, 0, null, k.rotation().onDemandCount()))
                    : null;
        });
    }

    public ManagedKey rotationStatus(Principal caller, String keyIdOrArn) {
        return authorized(caller, keyIdOrArn, "kms:GetKeyRotationStatus");
    }

    /** The key, for listing its rotations: the versions with a rotation type, oldest first. */
    public ManagedKey rotations(Principal caller, String keyIdOrArn) {
        return authorized(caller, keyIdOrArn, "kms:ListKeyRotations");
    }

    /** Adds a new backing version now, which becomes current; older versions keep decrypting. */
    public ManagedKey rotateOnDemand(Principal caller, String keyIdOrArn) {
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:RotateKeyOnDemand");
        requireEnabledForRotation(key);
        if (key.rotation().onDemandCount() >= MAX_ON_DEMAND_ROTATIONS) {
            throw new KmsException(ErrorReason.LIMIT_EXCEEDED,
                    "The key has had " + MAX_ON_DEMAND_ROTATIONS + " on-demand rotations.");
        }
        ManagedKey.Rotation r = key.rotation();
        return rotate(key, KeyVersion.RotationType.ON_DEMAND,
                new ManagedKey.Rotation(r.enabled(), r.periodDays(), r.nextRotationDate(), r.onDemandCount() + 1));
    }

    /** Scheduled rotation of a key whose date has come (called by {@link KeyRotation}). */
    ManagedKey rotateAutomatically(ManagedKey key) {
        ManagedKey.Rotation r = key.rotation();
        Instant next = r.nextRotationDate().plus(java.time.Duration.ofDays(r.periodDays()));
        Instant now = clock.instant();
        if (!next.isAfter(now)) {
            // Catch up after downtime with one rotation, not one per missed period.
            next = now.plus(java.time.Duration.ofDays(r.periodDays())).truncatedTo(ChronoUnit.MICROS);
        }
        return rotate(key, KeyVersion.RotationType.AUTOMATIC, new ManagedKey.Rotation(true, r.periodDays(), next,
                r.onDemandCount()));
    }

    /** Rotation because the current version has been used enough; the schedule stays as it is. */
    ManagedKey rotateForUsage(ManagedKey key) {
        return rotate(key, KeyVersion.RotationType.AUTOMATIC, key.rotation());
    }

    /**
     * Material first, metadata second (as in CreateKey): the new HSM object exists before any
     * metadata names it; if the metadata write loses a race, the object is destroyed again.
     */
    private ManagedKey rotate(ManagedKey key, KeyVersion.RotationType type, ManagedKey.Rotation after) {
        int number = key.currentVersion().number() + 1;
        HsmKeyRef ref = HsmCalls.call(() -> hsm.generateAesKey(rotationLabel(key.id(), number)));
        KeyVersion version = new KeyVersion(number, ref.label(), clock.instant().truncatedTo(ChronoUnit.MICROS), type);
        try {
            return repository.update(key.withNewVersion(version, after));
        } catch (ConcurrentUpdateException e) {
            discardOrphan(ref);
            throw new KmsException(ErrorReason.THROTTLING, "The key is being changed concurrently; retry.");
        } catch (RuntimeException e) {
            discardOrphan(ref);
            throw e;
        }
    }

    private void requireEnabledForRotation(ManagedKey key) {
        if (key.origin() == KeyOrigin.EXTERNAL) {
            throw new KmsException(ErrorReason.UNSUPPORTED_OPERATION,
                    "Keys with imported key material are not rotated by the service: import new material into a new key.");
        }
        requireNotPendingDeletion(key);
        if (key.state() == KeyState.DISABLED) {
            throw new KmsException(ErrorReason.DISABLED, "Key '" + names.arn(key) + "' is disabled.");
        }
    }

    private void requireNotPendingDeletion(ManagedKey key) {
        if (key.state() == KeyState.PENDING_DELETION || key.state() == KeyState.DELETING) {
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' is pending deletion.");
        }
    }

    private void requireMaterial(ManagedKey key) {
        if (key.state() == KeyState.PENDING_IMPORT) {
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' has no key material.");
        }
    }

    /**
     * Replaces the key policy. Unless {@code bypassLockoutCheck}, the new policy must still let the
     * caller put a key policy, so nobody locks a key away from its administrators by accident.
     */
    public ManagedKey putPolicy(Principal caller, String keyIdOrArn, String policyName, String policy,
                                boolean bypassLockoutCheck) {
        requireDefaultPolicyName(policyName);
        PolicyDocument document = KeyPolicies.parse(policy);
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:PutKeyPolicy");
        if (!bypassLockoutCheck) {
            requireCallerKeepsControl(caller, document, names.arn(key));
        }
        return change(key, k -> k.withPolicy(policy));
    }

    public ManagedKey updateDescription(Principal caller, String keyIdOrArn, String description) {
        requireDescription(description);
        ManagedKey key = authorized(caller, keyIdOrArn, "kms:UpdateKeyDescription");
        return change(key, k -> k.withDescription(description));
    }

    /** Adds or overwrites tags. */
    public ManagedKey tag(Principal caller, String keyIdOrArn, Map<String, String> tags) {
        if (tags.isEmpty()) {
            throw new KmsException(ErrorReason.VALIDATION, "Tags must hold at least one tag.");
        }
        Tags.validate(tags);
        ManagedKey key = find(caller, names.resolve(keyIdOrArn, caller.accountId()), "kms:TagResource");
        access.requireKeyAction(caller, "kms:TagResource", key, null, Tags.requestTags(tags));
        return change(key, k -> {
            Map<String, String> merged = new java.util.HashMap<>(k.tags());
            merged.putAll(tags);
            Tags.requireWithinLimit(merged);
            return k.withTags(merged);
        });
    }

    /** Removes tags by key; keys that are not there are ignored, as in AWS KMS. */
    public ManagedKey untag(Principal caller, String keyIdOrArn, List<String> tagKeys) {
        if (tagKeys.isEmpty()) {
            throw new KmsException(ErrorReason.VALIDATION, "TagKeys must name at least one tag key.");
        }
        ManagedKey key = find(caller, names.resolve(keyIdOrArn, caller.accountId()), "kms:UntagResource");
        access.requireKeyAction(caller, "kms:UntagResource", key, null, c -> c.putAll("aws:TagKeys", tagKeys));
        return change(key, k -> {
            Map<String, String> remaining = new java.util.HashMap<>(k.tags());
            tagKeys.forEach(remaining::remove);
            return remaining.equals(k.tags()) ? null : k.withTags(remaining);
        });
    }

    public Map<String, String> tags(Principal caller, String keyIdOrArn) {
        return authorized(caller, keyIdOrArn, "kms:ListResourceTags").tags();
    }

    public String getPolicy(Principal caller, String keyIdOrArn, String policyName) {
        String name = policyName.isEmpty() ? KeyPolicies.DEFAULT_POLICY_NAME : policyName;
        requireDefaultPolicyName(name);
        return authorized(caller, keyIdOrArn, "kms:GetKeyPolicy").policy();
    }

    /** Every key has exactly one policy, named "default". */
    public List<String> listPolicies(Principal caller, String keyIdOrArn, int limit) {
        listLimit(limit);
        authorized(caller, keyIdOrArn, "kms:ListKeyPolicies");
        return List.of(KeyPolicies.DEFAULT_POLICY_NAME);
    }

    /** Resolves, loads and authorizes: the first steps of every key-scoped request. */
    ManagedKey authorized(Principal caller, String keyIdOrArn, String action) {
        ManagedKey key = find(caller, names.resolve(keyIdOrArn, caller.accountId()), action);
        access.requireKeyAction(caller, action, key, null, c -> { });
        return key;
    }

    /** Loads a key or fails with NotFound / AccessDenied, depending on what the caller may know. */
    ManagedKey find(Principal caller, KeyNames.KeyRef ref, String action) {
        ManagedKey key = repository.find(ref.id())
                .filter(k -> k.accountId().equals(ref.accountId()))
                .orElseThrow(() -> access.missingKey(caller, ref, action));
        CallNotes.key(key, names.arn(key));
        return key;
    }

    /** Loads a key by id alone (the id came from a ciphertext blob); empty if unknown. */
    java.util.Optional<ManagedKey> findById(UUID id) {
        return repository.find(id);
    }

    private void requireCallerKeepsControl(Principal caller, PolicyDocument policy, String keyArn) {
        AccessRequest request = new AccessRequest(caller.arn(), "kms:PutKeyPolicy", keyArn, access.base(caller).build());
        Decision direct = policy.evaluate(request);
        boolean viaRoot = !caller.isAccountRoot() && policy.evaluate(request.as(caller.accountRootArn())) == Decision.ALLOW
                && access.identityAllows(caller, request);
        if (direct == Decision.DENY || (direct != Decision.ALLOW && !viaRoot)) {
            throw new KmsException(ErrorReason.MALFORMED_POLICY, "The new key policy will not allow you to update the key "
                    + "policy in the future (set BypassPolicyLockoutSafetyCheck to override).");
        }
    }

    private ManagedKey change(ManagedKey loaded, UnaryOperator<ManagedKey> edit) {
        ManagedKey key = loaded;
        for (int attempt = 1; ; attempt++) {
            ManagedKey changed = edit.apply(key);
            if (changed == null) {
                return key;
            }
            try {
                return repository.update(changed);
            } catch (ConcurrentUpdateException e) {
                if (attempt == UPDATE_ATTEMPTS) {
                    throw new KmsException(ErrorReason.THROTTLING, "The key is being changed concurrently; retry.");
                }
                key = repository.find(key.id()).orElseThrow(() -> notFound(loaded));
            } catch (NoSuchElementException e) {
                throw notFound(loaded);
            }
        }
    }

    private KmsException notFound(ManagedKey key) {
        return new KmsException(ErrorReason.NOT_FOUND, "Key '" + names.arn(key) + "' does not exist.");
    }

    private static int listLimit(int limit) {
        int effective = limit == 0 ? DEFAULT_LIST_LIMIT : limit;
        if (effective < 1 || effective > MAX_LIST_LIMIT) {
            throw new KmsException(ErrorReason.VALIDATION, "Limit must be between 1 and " + MAX_LIST_LIMIT + ".");
        }
        return effective;
    }

    private static void requireDescription(String description) {
        if (description.length() > MAX_DESCRIPTION_LENGTH) {
            throw new KmsException(ErrorReason.VALIDATION,
                    "Description is longer than " + MAX_DESCRIPTION_LENGTH + " characters.");
        }
    }

    private static void requireDefaultPolicyName(String policyName) {
        if (!KeyPolicies.DEFAULT_POLICY_NAME.equals(policyName)) {
            throw new KmsException(ErrorReason.VALIDATION, "PolicyName must be \"default\".");
        }
    }

    private void discardOrphan(HsmKeyRef ref) {
        try {
            hsm.destroyKey(ref);
        } catch (HsmException e) {
            LOG.warn("could not remove HSM key {} after a failed create; it is an orphan: {}", ref.label(), e.reason());
        }
    }
}
