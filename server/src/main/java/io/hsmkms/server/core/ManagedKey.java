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
        long revision) {

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
        Objects.requireNonNull(rotation, "rotation");
        versions = versions.stream().sorted(Comparator.comparingInt(KeyVersion::number)).toList();
        if (versions.isEmpty()) {
            throw new IllegalArgumentException("a key has at least one backing version");
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
                deletionDate, rotation, revision);
    }

    public ManagedKey withPolicy(String newPolicy) {
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, newPolicy, tags,
                deletionDate, rotation, revision);
    }

    /** A state change that also sets (or, with null, clears) the deletion date. */
    public ManagedKey withDeletion(KeyState newState, Instant newDeletionDate) {
        return new ManagedKey(id, accountId, createdAt, description, newState, spec, usage, origin, versions, policy, tags,
                newDeletionDate, rotation, revision);
    }

    public ManagedKey withRotation(Rotation newRotation) {
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, policy, tags,
                deletionDate, newRotation, revision);
    }

    /** The key with one more backing version, which becomes current. */
    public ManagedKey withNewVersion(KeyVersion version, Rotation newRotation) {
        List<KeyVersion> all = new java.util.ArrayList<>(versions);
        all.add(version);
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, all, policy, tags,
                deletionDate, newRotation, revision);
    }

    public ManagedKey withDescription(String newDescription) {
        return new ManagedKey(id, accountId, createdAt, newDescription, state, spec, usage, origin, versions, policy, tags,
                deletionDate, rotation, revision);
    }

    public ManagedKey withTags(Map<String, String> newTags) {
        return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, policy, newTags,
                deletionDate, rotation, revision);
    }
}
