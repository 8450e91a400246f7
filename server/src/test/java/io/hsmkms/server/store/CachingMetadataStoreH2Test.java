package io.hsmkms.server.store;

/**
 * The repository suite through the cache on H2. Every repository of a test is its own pool on one file, as two
 * nodes on one database would be, so the cache runs in its shared mode (the embedded server uses the exclusive
 * mode, covered by {@link CachingMetadataStoreTest}).
 */
class CachingMetadataStoreH2Test extends JdbcKeyRepositoryH2Test {
    @Override
    MetadataStore openRepository() {
        return new CachingMetadataStore(super.openRepository(), CachingMetadataStore.Sharing.SHARED,
                CachingMetadataStore.DEFAULT_MAX_BYTES);
    }
}
