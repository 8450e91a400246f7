package io.hsmkms.server.store;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The repository suite against the embedded default: an H2 file database in a temp dir. */
class JdbcKeyRepositoryH2Test extends JdbcKeyRepositoryContract {
    @TempDir
    Path parent;
    private Path dataDir;

    @Override
    void createDatabase() throws Exception {
        dataDir = Files.createTempDirectory(parent, "data");
    }

    @Override
    MetadataStore openRepository() {
        return JdbcKeyRepository.embedded(dataDir);
    }

    /** One process holds an H2 file; CachingMetadataStoreTest covers its racing writers through the cache. */
    @Override
    boolean racingWritersOnOneRow() {
        return false;
    }
}
