package io.hsmkms.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.server.core.KeyOrigin;
import io.hsmkms.server.core.KeySpec;
import io.hsmkms.server.core.KeyState;
import io.hsmkms.server.core.KeyUsage;
import io.hsmkms.server.core.KeyVersion;
import io.hsmkms.server.core.ManagedKey;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real embedded H2 file database in a temp dir. */
class JdbcKeyRepositoryTest {
    private static final String ACCOUNT = "111122223333";

    @TempDir
    Path dataDir;
    private JdbcKeyRepository repository;

    @BeforeEach
    void open() {
        repository = JdbcKeyRepository.embedded(dataDir);
    }

    @AfterEach
    void close() {
        repository.close();
    }

    @Test
    void insertThenFind_returnsTheKeyWithAllVersionsAtRevisionZero() {
        UUID id = UUID.randomUUID();
        Instant created = Instant.parse("2026-11-24T10:15:30.123456789Z");
        ManagedKey key = new ManagedKey(id, ACCOUNT, created, "two versions", KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM,
                List.of(new KeyVersion(2, "hsmkms/" + id + "/2", created.plusSeconds(5)),
                        new KeyVersion(1, "hsmkms/" + id + "/1", created)), "{\"policy\":1}", Map.of("team", "payments", "env", "prod"), null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 17);

        ManagedKey stored = repository.insert(key);

        assertThat(stored.revision()).isZero();
        assertThat(stored.tags()).isEqualTo(Map.of("team", "payments", "env", "prod"));
        assertThat(stored.createdAt()).isEqualTo(Instant.parse("2026-11-24T10:15:30.123456Z"));
        assertThat(repository.find(id)).contains(stored);
        assertThat(stored.versions()).extracting(KeyVersion::number).containsExactly(1, 2);
        assertThat(stored.currentVersion().hsmLabel()).isEqualTo("hsmkms/" + id + "/2");
    }

    @Test
    void find_unknownId_isEmpty() {
        assertThat(repository.find(UUID.randomUUID())).isEmpty();
    }

    @Test
    void list_pagesInIdOrderWithoutGapsOrDuplicates_andOnlyForTheAccount() {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            ids.add(repository.insert(key(UUID.randomUUID(), ACCOUNT)).id());
        }
        repository.insert(key(UUID.randomUUID(), "999999999999"));
        List<String> expected = ids.stream().map(UUID::toString).sorted().toList();

        KeyRepository.Page first = repository.list(ACCOUNT, 10, null);
        KeyRepository.Page second = repository.list(ACCOUNT, 10, first.keys().getLast().id());
        KeyRepository.Page third = repository.list(ACCOUNT, 10, second.keys().getLast().id());

        assertThat(List.of(first.truncated(), second.truncated(), third.truncated())).containsExactly(true, true, false);
        List<String> seen = new ArrayList<>();
        for (KeyRepository.Page page : List.of(first, second, third)) {
            page.keys().forEach(k -> seen.add(k.id().toString()));
        }
        assertThat(seen).containsExactlyElementsOf(expected);
        assertThat(repository.list("999999999999", 10, null).keys()).hasSize(1);
        assertThatThrownBy(() -> repository.list(ACCOUNT, 0, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> repository.list(ACCOUNT, 1001, null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void update_persistsStateAndPolicy_andBumpsRevision() {
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));

        ManagedKey updated = repository.update(stored.withState(KeyState.DISABLED).withPolicy("{\"new\":true}")
                .withDescription("renamed").withTags(Map.of("owner", "ops")));

        assertThat(updated.revision()).isEqualTo(1);
        assertThat(updated.description()).isEqualTo("renamed");
        assertThat(updated.tags()).isEqualTo(Map.of("owner", "ops"));
        assertThat(updated.state()).isEqualTo(KeyState.DISABLED);
        assertThat(updated.policy()).isEqualTo("{\"new\":true}");
        assertThat(repository.find(stored.id())).contains(updated);
    }

    @Test
    void update_withStaleRevision_failsAndChangesNothing() {
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        ManagedKey winner = repository.update(stored.withState(KeyState.DISABLED));

        assertThatThrownBy(() -> repository.update(stored.withState(KeyState.ENABLED)))
                .isInstanceOf(ConcurrentUpdateException.class);

        assertThat(repository.find(stored.id())).contains(winner);
    }

    @Test
    void update_unknownKey_failsAsNoSuchElement() {
        assertThatThrownBy(() -> repository.update(key(UUID.randomUUID(), ACCOUNT)))
                .isInstanceOf(NoSuchElementException.class);
    }

    @Test
    void insert_duplicateIdOrHsmLabel_isRejectedAndLeavesNoPartialKey() {
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        assertThatThrownBy(() -> repository.insert(stored)).isInstanceOf(StoreException.class);

        UUID other = UUID.randomUUID();
        ManagedKey sameLabel = new ManagedKey(other, ACCOUNT, Instant.now(), "", KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, stored.versions(), "{}", Map.of(), null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0);
        assertThatThrownBy(() -> repository.insert(sameLabel)).isInstanceOf(StoreException.class);
        assertThat(repository.find(other)).as("the transaction rolled back the key row").isEmpty();
    }

    @Test
    void dueForDeletion_findsPendingKeysPastTheirDate_andDeleteKeyRemovesEverything() {
        Instant deadline = Instant.parse("2026-12-01T00:00:00Z");
        ManagedKey due = repository.update(repository.insert(key(UUID.randomUUID(), ACCOUNT))
                .withDeletion(KeyState.PENDING_DELETION, deadline).withTags(Map.of("a", "b")));
        ManagedKey later = repository.update(repository.insert(key(UUID.randomUUID(), ACCOUNT))
                .withDeletion(KeyState.PENDING_DELETION, deadline.plusSeconds(3600)));
        repository.insert(key(UUID.randomUUID(), ACCOUNT));

        assertThat(repository.dueForDeletion(deadline.minusSeconds(1), 10)).isEmpty();
        assertThat(repository.dueForDeletion(deadline, 10)).containsExactly(due);
        assertThat(repository.dueForDeletion(deadline.plusSeconds(7200), 10)).extracting(ManagedKey::id)
                .containsExactly(due.id(), later.id());

        repository.deleteKey(due.id());

        assertThat(repository.find(due.id())).isEmpty();
        assertThat(repository.dueForDeletion(deadline.plusSeconds(7200), 10)).extracting(ManagedKey::id).containsExactly(later.id());
    }

    @Test
    void encryptionCounts_addUp_andOnlyTheCurrentVersionOfEnabledKeysCounts() {
        UUID id = UUID.randomUUID();
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        ManagedKey key = repository.insert(new ManagedKey(id, ACCOUNT, now, "", KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, "hsmkms/" + id + "/1", now),
                        new KeyVersion(2, "hsmkms/" + id + "/2", now)), "{}", Map.of(), null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0));
        var v1 = new io.hsmkms.server.core.EncryptionCounter.VersionId(id, 1);
        var v2 = new io.hsmkms.server.core.EncryptionCounter.VersionId(id, 2);

        repository.addEncryptions(Map.of(v1, 100L));
        assertThat(repository.overEncryptionBound(50, 10)).as("version 1 is not current").isEmpty();
        repository.addEncryptions(Map.of(v2, 30L));
        repository.addEncryptions(Map.of(v2, 30L));
        assertThat(repository.overEncryptionBound(60, 10)).extracting(ManagedKey::id).containsExactly(id);
        assertThat(repository.overEncryptionBound(61, 10)).isEmpty();

        repository.update(key.withState(KeyState.DISABLED));
        assertThat(repository.overEncryptionBound(60, 10)).isEmpty();
    }

    @Test
    void reopening_theSameDirectory_keepsEverything() {
        ManagedKey stored = repository.update(repository.insert(key(UUID.randomUUID(), ACCOUNT)).withState(KeyState.DISABLED));
        repository.close();

        repository = JdbcKeyRepository.embedded(dataDir);

        assertThat(repository.find(stored.id())).contains(stored);
    }

    private static ManagedKey key(UUID id, String account) {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        return new ManagedKey(id, account, now, "key " + id, KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, "hsmkms/" + id + "/1", now)),
                "{\"Statement\":[]}", Map.of(), null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0);
    }
}
