package io.hsmkms.server.core;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * A customer master key's metadata. The key material lives only in the HSM, one object per
 * {@link KeyVersion}. {@code policy} is the key policy JSON exactly as it was put. {@code revision} is
 * the optimistic-concurrency counter of the stored row; it covers the tags too. {@code deletionDate} is
 * set while the key is pending deletion.
 */
public record ManagedKey(
        UUID id,
        String accountId,
        Instant createdAt,
        String description,
        KeyState state,
        KeySpec spec,
        KeyUsage usage,
        KeyOrigin origin,
        List<KeyVersion> versions,
        String policy,
        Map<String, String> tags,
        Instant deletionDate,
        Rotation rotation,
        Imported imported,
        long revision) {

    /**
     * What is known about imported key material.
     *
     * @param keyCheckValue hex AES-ECB(material, zero block), null before the first import
     * @param validTo       when the material expires, or null if it does not
     * @param generation    how many imports there have been (each gets a fresh HSM label)
     * @param present       whether the HSM holds the material now
     */
    public record Imported(String keyCheckValue, Instant validTo, int generation, boolean present) {
        public static final Imported NONE = new Imported(null, null, 0, false);
    }

    /**
     * Automatic rotation settings and the count of on-demand rotations.
     *
     * @param nextRotationDate when the scheduler rotates next; null while rotation is off
     */
    public record Rotation(boolean enabled, int periodDays, Instant nextRotationDate, int onDemandCount) {
        public static final Rotation OFF = new Rotation(false, 0, null, 0);
    }

    public ManagedKey {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(accountId, "accountId");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(policy, "policy");
        tags = Map.copyOf(tags);
        // The common values as one shared instance each, and the smallest list: a node caches 100,000 keys.
        rotation = Rotation.OFF.equals(Objects.requireNonNull(rotation, "rotation")) ? Rotation.OFF : rotation;
        imported = Imported.NONE.equals(Objects.requireNonNull(imported, "imported")) ? Imported.NONE : imported;
        KeyVersion[] sorted = versions.toArray(KeyVersion[]::new);
        java.util.Arrays.sort(sorted, Comparator.comparingInt(KeyVersion::number));
        versions = List.of(sorted);
        if (versions.isEmpty() && origin != KeyOrigin.EXTERNAL) {
            throw new IllegalArgumentException("a key made in the HSM has at least one backing version");
        }
    }

    /** The version new encryptions use: the newest one. */
    public KeyVersion currentVersion() {
        return versions.getLast();
    }

    public java.util.Optional<KeyVersion> version(int number) {
        return versions.stream().filter(v -> v.number() == number).findFirst();
    }

    public ManagedKey withState(KeyState newState) {
        return new ManagedKey(id, accountId, createdAt, description, newState, spec, usage, origin, versions, policy, tags,
                deletionDate, rotation, imported, revision);
    }

    /**
     * This key holding the given Strings, equal to its own account id and policy, instead of its own: a cache keeps
     * one String per distinct text for all the keys that carry it.
     */
    public ManagedKey withSharedTexts(String sameAccountId, String samePolicy) {
        if (!accountId.equals(sameAccountId) || !policy.equals(samePolicy)) {
            throw new IllegalArgumentException("only equal texts can be shared");
        }
        return new ManagedKey(id, sameAccountId, createdAt, description, state, spec, usage, origin, versions, samePolicy,
                tags, deletionDate, rotation, imported, revision);
    }

    public ManagedKey withPolicy(String newPolicy) {
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, newPolicy, tags,
                deletionDate, rotation, imported, revision);
    }

    /** A state change that also sets (or, with null, clears) the deletion date. */
    public ManagedKey withDeletion(KeyState newState, Instant newDeletionDate) {
        return new ManagedKey(id, accountId, createdAt, description, newState, spec, usage, origin, versions, policy, tags,
                newDeletionDate, rotation, imported, revision);
    }

    public ManagedKey withRotation(Rotation newRotation) {
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, policy, tags,
                deletionDate, newRotation, imported, revision);
    }

    /** The key with one more backing version, which becomes current. */
    public ManagedKey withNewVersion(KeyVersion version, Rotation newRotation) {
        List<KeyVersion> all = new java.util.ArrayList<>(versions);
        all.add(version);
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, all, policy, tags,
                deletionDate, newRotation, imported, revision);
    }

    /** The key after an import: one version (number 1) backed by {@code label}, enabled. */
    public ManagedKey withImportedMaterial(KeyVersion version, Imported newImported) {
        return new ManagedKey(id, accountId, createdAt, description, KeyState.ENABLED, spec, usage, origin, List.of(version),
                policy, tags, deletionDate, rotation, newImported, revision);
    }

    /** The key after its imported material was deleted or expired: PENDING_IMPORT. */
    public ManagedKey withoutMaterial() {
        return new ManagedKey(id, accountId, createdAt, description, KeyState.PENDING_IMPORT, spec, usage, origin, versions,
                policy, tags, deletionDate, rotation, new Imported(imported.keyCheckValue(), null, imported.generation(), false),
                revision);
    }

    public ManagedKey withDescription(String newDescription) {
        return new ManagedKey(id, accountId, createdAt, newDescription, state, spec, usage, origin, versions, policy, tags,
                deletionDate, rotation, imported, revision);
    }

    public ManagedKey withTags(Map<String, String> newTags) {
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, policy, newTags,
                deletionDate, rotation, imported, revision);
    }
}
