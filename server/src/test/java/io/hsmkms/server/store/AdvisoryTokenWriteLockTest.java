package io.hsmkms.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.hsm.TokenWriteLock;
import io.hsmkms.server.testing.TestPostgres;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token write lock of two nodes sharing a real PostgreSQL database: one writer at a time. */
class AdvisoryTokenWriteLockTest {
    private static TestPostgres postgres;

    @BeforeAll
    static void startPostgres() {
        postgres = TestPostgres.start();
    }

    @AfterAll
    static void stopPostgres() {
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void aSecondNode_waitsForTheFirstNodesWrite_andGoesOnWhenItEnds() throws Exception {
        ExternalDatabase database = postgres.newDatabase();
        try (JdbcKeyRepository nodeA = JdbcKeyRepository.postgres(database);
             JdbcKeyRepository nodeB = JdbcKeyRepository.postgres(database)) {
            TokenWriteLock.Held writing = nodeA.tokenWriteLock().acquire();
            CompletableFuture<TokenWriteLock.Held> waiting = CompletableFuture.supplyAsync(() -> nodeB.tokenWriteLock().acquire());

            Thread.sleep(500);
            assertThat(waiting).as("B while A writes").isNotDone();
            writing.close();

            waiting.get(5, TimeUnit.SECONDS).close();
            nodeA.tokenWriteLock().acquire().close(); // released by B, as by A
        }
    }

    @Test
    void theEmbeddedStore_whichOneProcessOwns_takesNoLock(@TempDir Path dataDir) {
        try (JdbcKeyRepository embedded = JdbcKeyRepository.embedded(dataDir)) {
            assertThat(embedded.tokenWriteLock()).isSameAs(TokenWriteLock.NONE);
        }
    }
}
