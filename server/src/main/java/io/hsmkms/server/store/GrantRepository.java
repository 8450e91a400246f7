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

    /** Grants that a principal may retire, ordered by grant id. */
    List<Grant> retirableBy(String retiringPrincipal);

    Optional<Grant> find(UUID keyId, String grantId);

    /** Deletes a grant; false if it did not exist. */
    boolean deleteGrant(UUID keyId, String grantId);
}
