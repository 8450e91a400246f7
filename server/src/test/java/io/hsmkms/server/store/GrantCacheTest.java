package io.hsmkms.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.core.Grant;
import io.hsmkms.server.core.GrantOperation;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The bound and the bookkeeping; exactness against the database is CachingMetadataStoreTest's. */
class GrantCacheTest {
    private static final String APP = "arn:hsmkms:iam::111122223333:role/app";

    @Test
    void staysWithinItsBound_keepingTheEntryJustPut() {
        GrantCache cache = new GrantCache(10);
        List<UUID> keys = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            UUID key = UUID.randomUUID();
            keys.add(key);
            List<Grant> grants = List.of(grant(key, "g-" + i));
            assertThat(cache.put(key, APP, grants)).isEqualTo(grants);
            assertThat(cache.get(key, APP)).as("the entry just put").isEqualTo(grants);
            assertThat(cache.weight()).isBetween(2, 10);
        }
        long cached = keys.stream().filter(key -> cache.get(key, APP) != null).count();
        assertThat(cached).as("each entry weighs 2 (itself and its grant)").isEqualTo(cache.weight() / 2);
    }

    @Test
    void forget_dropsTheKeysEntries_andTheirWeight() {
        GrantCache cache = new GrantCache(100);
        UUID key = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        cache.put(key, APP, List.of(grant(key, "g-1"), grant(key, "g-2")));
        cache.put(key, "arn:hsmkms:iam::111122223333:role/nobody", List.of());
        cache.put(other, APP, List.of(grant(other, "g-3")));
        assertThat(cache.weight()).isEqualTo(3 + 1 + 2);

        cache.forget(key);

        assertThat(cache.get(key, APP)).isNull();
        assertThat(cache.get(key, "arn:hsmkms:iam::111122223333:role/nobody")).isNull();
        assertThat(cache.get(other, APP)).extracting(Grant::grantId).containsExactly("g-3");
        assertThat(cache.weight()).isEqualTo(2);
    }

    @Test
    void anEntryLargerThanTheBound_isAnsweredButNotKept() {
        GrantCache cache = new GrantCache(2);
        UUID key = UUID.randomUUID();
        List<Grant> grants = List.of(grant(key, "g-1"), grant(key, "g-2"));

        assertThat(cache.put(key, APP, grants)).isEqualTo(grants);

        assertThat(cache.get(key, APP)).isNull();
        assertThat(cache.weight()).isZero();
    }

    private static Grant grant(UUID key, String id) {
        return new Grant(id, key, null, APP, null, Set.of(GrantOperation.DECRYPT), null, null, "111122223333",
                Instant.parse("2026-01-01T00:00:00Z"));
    }
}
