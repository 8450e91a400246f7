package io.hsmkms.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmkms.server.core.EncryptionCounter.VersionId;
import io.hsmkms.server.core.KeyOrigin;
import io.hsmkms.server.core.KeySpec;
import io.hsmkms.server.core.KeyState;
import io.hsmkms.server.core.KeyUsage;
import io.hsmkms.server.core.KeyVersion;
import io.hsmkms.server.core.ManagedKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded store's file after a burst of commits is mostly free space, which H2 does not give back while the
 * server runs (WRITE_DELAY=0 turns off its background compaction); opening the store rewrites such a file.
 */
class EmbeddedStoreCompactionTest {
    private static final int KEYS = 1_500;
    private static final int COMMITS = 3_000;

    @TempDir
    Path dataDir;

    @Test
    void opening_rewritesALargeFileMostlyFree_keepsEveryCommit_andLeavesSmallOrDenseFilesAlone() throws Exception {
        Path file = dataDir.resolve("metadata").resolve("hsmkms.mv.db");
        String url = "jdbc:h2:file:" + dataDir.resolve("metadata").resolve("hsmkms").toAbsolutePath()
                + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
        UUID counted = UUID.randomUUID();
        try (JdbcKeyRepository store = JdbcKeyRepository.embedded(dataDir)) {
            store.insert(key(counted));
            List<UUID> others = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                others.add(store.insert(key(UUID.randomUUID())).id());
            }
            // One transaction each, as the service's writes are: each leaves new copies of the pages it touched.
            Random random = new Random(1);
            for (int i = 0; i < COMMITS; i++) {
                store.addEncryptions(Map.of(new VersionId(counted, 1), 1L,
                        new VersionId(others.get(random.nextInt(KEYS)), 1), 1L));
            }
        }
        long grown = Files.size(file);
        assertTrue(grown >= EmbeddedStoreCompaction.MIN_BYTES,
                "the burst should leave at least 64 MiB, left " + (grown >> 20) + " MiB");

        // Under the size given, nothing is done however sparse the file is.
        EmbeddedStoreCompaction.Result tooSmall = EmbeddedStoreCompaction.compactIfSparse(file, url, "hsmkms", grown + 1, 50);
        assertFalse(tooSmall.compacted());
        assertEquals(grown, Files.size(file));

        try (JdbcKeyRepository store = JdbcKeyRepository.embedded(dataDir)) {
            long opened = Files.size(file);
            assertTrue(opened < grown / 8, "opened at " + (opened >> 20) + " MiB, from " + (grown >> 20) + " MiB");
            // Every commit is there: the count is exactly the number of increments, and every key.
            assertEquals(List.of(counted), store.overEncryptionBound(COMMITS, 10).stream().map(ManagedKey::id).toList());
            assertTrue(store.overEncryptionBound(COMMITS + 1, 10).isEmpty());
            assertEquals(KEYS + 1, countKeys(store));
        }

        // Just rewritten, so mostly live: not rewritten again, whatever its size.
        long dense = Files.size(file);
        EmbeddedStoreCompaction.Result again = EmbeddedStoreCompaction.compactIfSparse(file, url, "hsmkms", 1, 50);
        assertFalse(again.compacted(), "the file had " + again.fillPercent() + " % live pages");
        assertTrue(again.fillPercent() >= 50, "the file had " + again.fillPercent() + " % live pages");
        assertTrue(Files.size(file) >= dense, "rewritten again: " + dense + " -> " + Files.size(file));
    }

    private static int countKeys(KeyRepository store) {
        int keys = 0;
        for (KeyRepository.LabelPage page = store.versionLabels(null, 1000); page.lastKey() != null;
             page = store.versionLabels(page.lastKey(), 1000)) {
            keys += page.labels().size();
        }
        return keys;
    }

    private static ManagedKey key(UUID id) {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        return new ManagedKey(id, "111122223333", now, "compaction", KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT,
                KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, "hsmkms/" + id + "/1", now)),
                "{\"Statement\":[]}", Map.of(), null, ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0);
    }
}
