package io.hsmkms.server.store;

/** The repository suite through the cache on PostgreSQL, as nodes sharing a database run it. */
class CachingMetadataStorePostgresTest extends JdbcKeyRepositoryPostgresTest {
    @Override
    MetadataStore openRepository() {
        return new CachingMetadataStore(super.openRepository(), CachingMetadataStore.Sharing.SHARED,
                CachingMetadataStore.DEFAULT_MAX_BYTES);
    }
}
