package io.hsmkms.server.store;

/** Everything the service keeps outside the HSM: keys, grants, aliases. One database, one implementation. */
public interface MetadataStore extends KeyRepository, GrantRepository, AliasRepository {
}
