package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.store.JdbcKeyRepository;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which counts reach the (real, embedded) store when: busy versions often, every version eventually. */
class EncryptionCounterTest {
    private static final long BOUND = 1L << 20;
    private static final long THRESHOLD = BOUND / 1024;

    @TempDir
    Path dir;
    private JdbcKeyRepository repository;
    private EncryptionCounter counter;

    @BeforeEach
    void open() {
        repository = JdbcKeyRepository.embedded(dir);
        counter = new EncryptionCounter(repository, BOUND);
    }

    @AfterEach
    void close() {
        repository.close();
    }

    @Test
    void flush_writesOnlyCountsPastTheThreshold_flushAll_writesTheRest() {
        UUID busy = insertKey();
        UUID quiet = insertKey();
        record(busy, THRESHOLD);
        record(quiet, THRESHOLD - 1);

        counter.flush();

        assertThat(over(THRESHOLD)).containsExactly(busy);
        assertThat(over(THRESHOLD - 1)).containsExactlyInAnyOrder(busy);

        counter.flushAll();

        assertThat(over(THRESHOLD - 1)).containsExactlyInAnyOrder(busy, quiet);
        assertThat(over(THRESHOLD + 1)).as("nothing is written twice").isEmpty();
    }

    @Test
    void countsHeldBack_addUpAcrossFlushes_andAreWrittenOnceTheyReachTheThreshold() {
        UUID key = insertKey();
        record(key, THRESHOLD / 2);
        counter.flush();
        assertThat(over(1)).isEmpty();

        record(key, THRESHOLD - THRESHOLD / 2);
        counter.flush();

        assertThat(over(THRESHOLD)).containsExactly(key);
        assertThat(over(THRESHOLD + 1)).isEmpty();
    }

    @Test
    void aSmallBound_writesEveryCountOnEachFlush() {
        EncryptionCounter exact = new EncryptionCounter(repository, 5);
        UUID key = insertKey();
        exact.record(key, 1);

        exact.flush();

        assertThat(over(1)).containsExactly(key);
    }

    private void record(UUID key, long times) {
        for (long i = 0; i < times; i++) {
            counter.record(key, 1);
        }
    }

    private List<UUID> over(long encryptions) {
        return repository.overEncryptionBound(encryptions, 10).stream().map(ManagedKey::id).toList();
    }

    private UUID insertKey() {
        UUID id = UUID.randomUUID();
        Instant now = Instant.parse("2026-12-01T00:00:00Z");
        repository.insert(new ManagedKey(id, "111122223333", now, "", KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, KeyOperations.hsmLabel(id, 1), now)),
                KeyPolicies.defaultPolicy("111122223333"), Map.of(), null, ManagedKey.Rotation.OFF,
                ManagedKey.Imported.NONE, 0));
        return id;
    }
}
