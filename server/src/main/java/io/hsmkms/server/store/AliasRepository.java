package io.hsmkms.server.store;

import io.hsmkms.server.core.Alias;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** Stored aliases. Implementation: {@link JdbcKeyRepository}. */
public interface AliasRepository {

    /** Stores a new alias; false if the account already has one with that name. */
    boolean insertAlias(Alias alias);

    Optional<Alias> findAlias(String accountId, String name);

    /** Points an existing alias at another key; false if there is no such alias. */
    boolean retargetAlias(String accountId, String name, UUID keyId, Instant now);

    boolean deleteAlias(String accountId, String name);

    /** Aliases of an account (of one key when keyId is not null), by name, after {@code afterName}. */
    List<Alias> listAliases(String accountId, UUID keyId, String afterName, int limit);
}
