package io.hsmkms.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.server.core.KeyOrigin;
import io.hsmkms.server.core.KeySpec;
import io.hsmkms.server.core.KeyState;
import io.hsmkms.server.core.KeyUsage;
import io.hsmkms.server.core.KeyVersion;
import io.hsmkms.server.core.ManagedKey;
import io.hsmkms.server.core.Alias;
import io.hsmkms.server.core.Grant;
import io.hsmkms.server.core.GrantOperation;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The repository suite, run against every database the service supports: each subclass opens repositories on a
 * fresh, empty database of its kind. Concurrency tests use two repository instances (two connection pools) on one
 * database, as two nodes would.
 */
abstract class JdbcKeyRepositoryContract {
    private static final String ACCOUNT = "111122223333";

    private MetadataStore repository;
    private final List<MetadataStore> opened = new ArrayList<>();

    /** Prepares an empty database for one test. */
    abstract void createDatabase() throws Exception;

    /** A new repository (own pool) on this test's database; may be called several times per test. */
    abstract MetadataStore openRepository();

    /**
     * Whether nodes may write one row at the same moment: PostgreSQL, the shared store, yes. The embedded H2 file is
     * only ever open in one process, and CachingMetadataStore (the server's store) writes each key one call at a
     * time there; H2 2.5.252 itself was seen to let two racing "UPDATE ... WHERE revision = ?" of one row from two
     * pools both succeed and a read after commit return an older revision (about 1 run in 30-100 of
     * concurrentReadModifyWrite_fromTwoPools), so the racing-writer tests run on PostgreSQL only.
     */
    boolean racingWritersOnOneRow() {
        return true;
    }

    private void assumeRacingWriters() {
        org.junit.jupiter.api.Assumptions.assumeTrue(racingWritersOnOneRow(),
                "racing writers to one row from two pools: a PostgreSQL deployment only");
    }

    @BeforeEach
    void open() throws Exception {
        createDatabase();
        repository = another();
    }

    @AfterEach
    void close() {
        opened.forEach(MetadataStore::close);
    }

    private MetadataStore another() {
        MetadataStore r = openRepository();
        opened.add(r);
        return r;
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
    void versionLabels_pageAllAccountsKeysInIdOrder_withEveryVersionsLabelAndItsKeysState() {
        java.util.Map<String, KeyRepository.VersionLabel> expected = new java.util.HashMap<>();
        for (int i = 0; i < 24; i++) {
            ManagedKey stored = repository.insert(key(UUID.randomUUID(), i % 3 == 0 ? "999999999999" : ACCOUNT));
            expected.put(stored.currentVersion().hsmLabel(),
                    new KeyRepository.VersionLabel(stored.id(), KeyState.ENABLED, stored.currentVersion().hsmLabel()));
        }
        UUID twoVersions = UUID.randomUUID();
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        repository.insert(new ManagedKey(twoVersions, ACCOUNT, now, "rotated", KeyState.DISABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, "hsmkms/" + twoVersions + "/1", now),
                        new KeyVersion(2, "hsmkms/" + twoVersions + "/2", now)), "{\"Statement\":[]}", Map.of(), null,
                ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0));
        for (int v = 1; v <= 2; v++) {
            String label = "hsmkms/" + twoVersions + "/" + v;
            expected.put(label, new KeyRepository.VersionLabel(twoVersions, KeyState.DISABLED, label));
        }

        List<KeyRepository.VersionLabel> seen = new ArrayList<>();
        List<UUID> pageEnds = new ArrayList<>();
        for (KeyRepository.LabelPage page = repository.versionLabels(null, 10); page.lastKey() != null;
                page = repository.versionLabels(page.lastKey(), 10)) {
            seen.addAll(page.labels());
            pageEnds.add(page.lastKey());
        }

        assertThat(seen).containsExactlyInAnyOrderElementsOf(expected.values());
        assertThat(seen).extracting(l -> l.keyId().toString()).isSorted();
        assertThat(pageEnds).hasSize(3);
        assertThat(pageEnds.getLast().toString())
                .isEqualTo(expected.values().stream().map(l -> l.keyId().toString()).max(String::compareTo).orElseThrow());
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
        opened.remove(repository);

        repository = another();

        assertThat(repository.find(stored.id())).contains(stored);
    }

    @Test
    void revision_followsUpdates_andIsEmptyForUnknownOrDeletedKeys() {
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        assertThat(repository.revision(stored.id())).hasValue(0);

        repository.update(stored.withDescription("changed"));
        assertThat(repository.revision(stored.id())).hasValue(1);

        repository.deleteKey(stored.id());
        assertThat(repository.revision(stored.id())).isEmpty();
        assertThat(repository.revision(UUID.randomUUID())).isEmpty();
    }

    @Test
    void twoNodes_aChangeOnOne_isWhatTheOtherReadsNext() {
        MetadataStore nodeB = another();
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        assertThat(nodeB.find(stored.id())).contains(stored);

        ManagedKey disabled = repository.update(stored.withState(KeyState.DISABLED).withTags(Map.of("env", "prod")));
        assertThat(nodeB.find(stored.id())).contains(disabled);

        ManagedKey rotated = repository.update(disabled.withNewVersion(
                new KeyVersion(2, "hsmkms/" + stored.id() + "/2", Instant.parse("2026-02-01T00:00:00Z")),
                ManagedKey.Rotation.OFF));
        assertThat(nodeB.find(stored.id()).orElseThrow().versions()).isEqualTo(rotated.versions());

        repository.deleteKey(stored.id());
        assertThat(nodeB.find(stored.id())).isEmpty();
    }

    @Test
    void forGrantee_returnsOnlyThatGranteesGrantsOnThatKey() {
        UUID keyId = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        UUID otherKey = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        String app = "arn:hsmkms:iam::" + ACCOUNT + ":role/app";
        for (int i = 0; i < 6; i++) {
            String grantee = i % 3 == 0 ? app : "arn:hsmkms:iam::" + ACCOUNT + ":role/other-" + i;
            repository.insertGrant(new Grant("grant-" + i, i == 3 ? otherKey : keyId, null, grantee, null,
                    Set.of(GrantOperation.DECRYPT), null, null, ACCOUNT, Instant.now()), 100);
        }

        assertThat(repository.forGrantee(keyId, app)).extracting(Grant::grantId).containsExactly("grant-0");
        assertThat(repository.forGrantee(otherKey, app)).extracting(Grant::grantId).containsExactly("grant-3");
        assertThat(repository.forGrantee(keyId, "arn:hsmkms:iam::" + ACCOUNT + ":role/nobody")).isEmpty();
        assertThat(repository.forKey(keyId)).hasSize(5);
    }

    @Test
    void aGrantCreatedOrRevokedOnAnotherNode_appliesToTheNextReadHere() {
        MetadataStore nodeB = another();
        UUID keyId = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        String app = "arn:hsmkms:iam::" + ACCOUNT + ":role/app";
        assertThat(repository.forGrantee(keyId, app)).isEmpty();

        nodeB.insertGrant(new Grant("grant-b", keyId, null, app, null, Set.of(GrantOperation.DECRYPT), null, null,
                ACCOUNT, Instant.now()), 100);
        assertThat(repository.forGrantee(keyId, app)).extracting(Grant::grantId).containsExactly("grant-b");

        assertThat(nodeB.deleteGrant(keyId, "grant-b")).isTrue();
        assertThat(repository.forGrantee(keyId, app)).isEmpty();
    }

    @Test
    void anAliasMadeMovedOrDeletedOnAnotherNode_appliesToTheNextReadHere() {
        MetadataStore nodeB = another();
        UUID first = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        UUID second = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        Instant now = Instant.now();
        assertThat(repository.findAlias(ACCOUNT, "alias/orders")).isEmpty();

        assertThat(nodeB.insertAlias(new Alias(ACCOUNT, "alias/orders", first, now, now))).isTrue();
        assertThat(repository.findAlias(ACCOUNT, "alias/orders")).map(Alias::keyId).contains(first);

        assertThat(nodeB.retargetAlias(ACCOUNT, "alias/orders", second, now)).isTrue();
        assertThat(repository.findAlias(ACCOUNT, "alias/orders")).map(Alias::keyId).contains(second);

        assertThat(nodeB.deleteAlias(ACCOUNT, "alias/orders")).isTrue();
        assertThat(repository.findAlias(ACCOUNT, "alias/orders")).isEmpty();
    }

    @Test
    void twoNodes_updatingFromTheSameRevision_oneWins_theOtherGetsConcurrentUpdate() {
        MetadataStore nodeB = another();
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        ManagedKey seenByA = repository.find(stored.id()).orElseThrow();
        ManagedKey seenByB = nodeB.find(stored.id()).orElseThrow();

        ManagedKey winner = repository.update(seenByA.withState(KeyState.DISABLED));

        assertThatThrownBy(() -> nodeB.update(seenByB.withPolicy("{\"lost\":true}")))
                .isInstanceOf(ConcurrentUpdateException.class);
        assertThat(nodeB.find(stored.id())).contains(winner);
    }

    @Test
    void concurrentReadModifyWrite_fromTwoPools_losesNoUpdate() throws Exception {
        assumeRacingWriters();
        MetadataStore nodeB = another();
        UUID id = repository.insert(key(UUID.randomUUID(), ACCOUNT).withDescription("0")).id();
        int threadsPerNode = 4;
        int incrementsPerThread = 10;
        AtomicInteger conflicts = new AtomicInteger();
        List<Callable<Void>> workers = new ArrayList<>();
        for (MetadataStore node : List.of(repository, nodeB)) {
            for (int t = 0; t < threadsPerNode; t++) {
                workers.add(() -> {
                    for (int i = 0; i < incrementsPerThread; i++) {
                        while (true) {
                            ManagedKey current = node.find(id).orElseThrow();
                            int count = Integer.parseInt(current.description());
                            try {
                                node.update(current.withDescription(Integer.toString(count + 1)));
                                break;
                            } catch (ConcurrentUpdateException e) {
                                conflicts.incrementAndGet();
                            }
                        }
                    }
                    return null;
                });
            }
        }

        runTogether(workers);

        ManagedKey after = repository.find(id).orElseThrow();
        int total = 2 * threadsPerNode * incrementsPerThread;
        assertThat(after.description()).as("every increment survived").isEqualTo(Integer.toString(total));
        assertThat(after.revision()).isEqualTo(total);
        assertThat(conflicts.get()).as("the threads really collided").isPositive();
    }

    @Test
    void concurrentRotations_fromTwoPools_addExactlyOneVersion() throws Exception {
        assumeRacingWriters();
        MetadataStore nodeB = another();
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        List<Callable<Boolean>> rotations = new ArrayList<>();
        for (MetadataStore node : List.of(repository, nodeB, repository, nodeB)) {
            rotations.add(() -> {
                String label = "hsmkms/" + stored.id() + "/2/" + UUID.randomUUID();
                try {
                    node.update(stored.withNewVersion(new KeyVersion(2, label, Instant.now(),
                            KeyVersion.RotationType.ON_DEMAND), stored.rotation()));
                    return true;
                } catch (ConcurrentUpdateException e) {
                    return false;
                }
            });
        }

        List<Boolean> won = runTogether(rotations);

        assertThat(won).containsOnlyOnce(true);
        assertThat(nodeB.find(stored.id()).orElseThrow().versions()).extracting(KeyVersion::number).containsExactly(1, 2);
    }

    @Test
    void update_whoseVersionInsertFails_rollsBackTheKeyRowToo() {
        ManagedKey first = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        ManagedKey stored = repository.insert(key(UUID.randomUUID(), ACCOUNT));
        // A label another key already has: the version row violates the unique constraint after the key row changed.
        KeyVersion clash = new KeyVersion(2, first.currentVersion().hsmLabel(), Instant.now(), KeyVersion.RotationType.ON_DEMAND);

        assertThatThrownBy(() -> repository.update(stored.withState(KeyState.DISABLED).withNewVersion(clash, stored.rotation())))
                .isInstanceOf(StoreException.class);

        assertThat(repository.find(stored.id())).as("state and revision unchanged").contains(stored);
    }

    @Test
    void concurrentCreateAlias_withOneName_exactlyOneSucceeds_theOthersSeeItExists() throws Exception {
        MetadataStore nodeB = another();
        UUID keyId = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        List<Callable<Boolean>> inserts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            MetadataStore node = i % 2 == 0 ? repository : nodeB;
            inserts.add(() -> node.insertAlias(new Alias(ACCOUNT, "alias/shared", keyId, now, now)));
        }

        List<Boolean> results = runTogether(inserts);

        assertThat(results).containsOnlyOnce(true);
        assertThat(nodeB.findAlias(ACCOUNT, "alias/shared")).isPresent();
    }

    @Test
    void concurrentCreateGrant_fromTwoPools_neverExceedsTheLimit() throws Exception {
        assumeRacingWriters();
        MetadataStore nodeB = another();
        UUID keyId = repository.insert(key(UUID.randomUUID(), ACCOUNT)).id();
        int limit = 5;
        List<Callable<Boolean>> inserts = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            MetadataStore node = i % 2 == 0 ? repository : nodeB;
            String grantId = "grant-" + i;
            inserts.add(() -> {
                try {
                    node.insertGrant(new Grant(grantId, keyId, null, "arn:hsmkms:iam::" + ACCOUNT + ":role/app", null,
                            Set.of(GrantOperation.DECRYPT), null, null, ACCOUNT, Instant.now()), limit);
                    return true;
                } catch (IllegalStateException e) {
                    return false;
                }
            });
        }

        List<Boolean> results = runTogether(inserts);

        assertThat(results.stream().filter(b -> b).count()).isEqualTo(limit);
        assertThat(nodeB.forKey(keyId)).hasSize(limit);
    }

    /** Starts all tasks at the same moment and returns their results in order; any failure fails the test. */
    private static <T> List<T> runTogether(List<Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            start.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                results.add(future.get(120, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    /** An enabled key with one version and an empty policy (also for other store tests). */
    static ManagedKey key(UUID id, String account) {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        return new ManagedKey(id, account, now, "key " + id, KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, "hsmkms/" + id + "/1", now)),
                "{\"Statement\":[]}", Map.of(), null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0);
    }
}
