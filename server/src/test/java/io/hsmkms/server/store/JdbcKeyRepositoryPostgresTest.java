package io.hsmkms.server.store;

import io.hsmkms.server.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The repository suite against a real PostgreSQL server (see {@link TestPostgres}), a fresh database per test. */
class JdbcKeyRepositoryPostgresTest extends JdbcKeyRepositoryContract {
    private static TestPostgres postgres;
    private ExternalDatabase database;

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

    @Override
    void createDatabase() {
        database = postgres.newDatabase();
    }

    @Override
    MetadataStore openRepository() {
        return JdbcKeyRepository.postgres(database);
    }
}
