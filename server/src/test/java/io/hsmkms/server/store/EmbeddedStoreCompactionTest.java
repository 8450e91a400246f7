package io.hsmkms.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmkms.server.core.EncryptionCounter.VersionId;
import io.hsmkms.server.core.ManagedKey;
import java.nio.file.Files;
import java.nio.file.Path;
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
    private static final String ACCOUNT = "111122223333";

    @TempDir
    Path dataDir;

    @Test
    void opening_rewritesALargeFileMostlyFree_keepsEveryCommit_andLeavesSmallOrDenseFilesAlone() throws Exception {
        Path file = JdbcKeyRepository.embeddedFile(dataDir);
        UUID counted = UUID.randomUUID();
        try (JdbcKeyRepository store = JdbcKeyRepository.embedded(dataDir)) {
            store.insert(JdbcKeyRepositoryContract.key(counted, ACCOUNT));
            List<UUID> others = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                others.add(store.insert(JdbcKeyRepositoryContract.key(UUID.randomUUID(), ACCOUNT)).id());
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
        EmbeddedStoreCompaction.Result tooSmall = EmbeddedStoreCompaction.compactIfSparse(dataDir, grown + 1, 50);
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
        EmbeddedStoreCompaction.Result again = EmbeddedStoreCompaction.compactIfSparse(dataDir, 1, 50);
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
}
