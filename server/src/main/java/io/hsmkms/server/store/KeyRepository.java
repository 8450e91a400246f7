package io.hsmkms.server.store;

import io.hsmkms.server.core.ManagedKey;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** Persistent key metadata. Implementations: {@link JdbcKeyRepository} (embedded H2 by default). */
public interface KeyRepository extends AutoCloseable {

    /** Stores a new key with all its versions atomically. The given revision is ignored; stored as 0. */
    ManagedKey insert(ManagedKey key);

    Optional<ManagedKey> find(UUID id);

    /** The stored revision of a key, or empty if there is no such key: one row, no versions or tags. */
    java.util.OptionalLong revision(UUID id);

    /**
     * Keys of one account ordered by id (lowercase canonical UUID text order), starting after
     * {@code after} when it is not null. {@code limit} is 1..1000.
     */
    Page list(String accountId, int limit, UUID after);

    /**
     * Writes the mutable fields (description, state, policy, tags, deletion date, rotation) of {@code changed} if the stored revision still
     * equals {@code changed.revision()}, and stores versions it has that the store has not (rotation
     * appends versions; existing ones never change); returns the stored key with revision + 1.
     *
     * @throws ConcurrentUpdateException when another writer got there first
     * @throws java.util.NoSuchElementException when no such key exists
     */
    ManagedKey update(ManagedKey changed);

    /** How many keys are in each stored state (states with no key are left out). */
    Map<io.hsmkms.server.core.KeyState, Long> countByState();

    /** Keys pending deletion (or being deleted) whose deletion date is not after {@code now}. */
    List<ManagedKey> dueForDeletion(java.time.Instant now, int limit);

    /**
     * The token labels of the backing versions of up to {@code limit} keys of every account, with each key's state,
     * keys ordered by id after {@code after} (null: from the start); for the reconciler, which needs nothing else
     * of a key and reads all of them. Two small queries a page: reading whole keys (policies, tags, versions by
     * IN lists of a thousand ids) was most of the store's part of a run over 100,000 keys.
     */
    LabelPage versionLabels(UUID after, int limit);

    /** Enabled keys with automatic rotation whose next rotation date is not after {@code now}. */
    List<ManagedKey> dueForRotation(java.time.Instant now, int limit);

    /** Adds encryption counts to backing versions (versions of deleted keys are skipped). */
    void addEncryptions(java.util.Map<io.hsmkms.server.core.EncryptionCounter.VersionId, Long> counts);

    /** Enabled keys whose current version has done at least {@code bound} encryptions. */
    List<ManagedKey> overEncryptionBound(long bound, int limit);

    /** Keys with imported material whose ValidTo has passed (material still present). */
    List<ManagedKey> importedMaterialExpired(java.time.Instant now, int limit);

    /** Removes a key's metadata with its versions, tags, aliases and grants, in one transaction. */
    void deleteKey(UUID id);

    @Override
    void close();

    /** One backing version's token label and the state of its key. */
    record VersionLabel(UUID keyId, io.hsmkms.server.core.KeyState state, String hsmLabel) {}

    /** The labels of one page of keys; {@code lastKey} (null when the page has no key) is where the next page starts. */
    record LabelPage(List<VersionLabel> labels, UUID lastKey) {
        public LabelPage {
            labels = List.copyOf(labels);
        }
    }

    record Page(List<ManagedKey> keys, boolean truncated) {
        public Page {
            keys = List.copyOf(keys);
        }
    }
}
