package io.hsmkms.server.store;

import io.hsmkms.server.core.Grant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** Stored grants. Implementation: {@link JdbcKeyRepository} (same database as the keys). */
public interface GrantRepository {

    /** Stores a grant; fails with IllegalStateException if the key already has {@code maxPerKey} grants. */
    void insertGrant(Grant grant, int maxPerKey);

    /** All grants on a key, ordered by grant id. */
    List<Grant> forKey(UUID keyId);

    /**
     * The grants on a key whose grantee is {@code granteePrincipal}, ordered by grant id: the only ones that can allow
     * that caller anything, read through an index so a key with many grants costs a caller no more than its own.
     */
    List<Grant> forGrantee(UUID keyId, String granteePrincipal);

    /** Grants that a principal may retire, ordered by grant id. */
    List<Grant> retirableBy(String retiringPrincipal);

    Optional<Grant> find(UUID keyId, String grantId);

    /** Deletes a grant; false if it did not exist. */
    boolean deleteGrant(UUID keyId, String grantId);
}
