package io.hsmkms.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.core.Alias;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The bound and the generation rule; exactness against the database is CachingMetadataStoreTest's. */
class AliasCacheTest {
    private static final String ACCOUNT = "111122223333";

    @Test
    void aLoadThatAChangeOvertook_isAnsweredButNotKept() {
        AliasCache cache = new AliasCache(100);
        long readAt = cache.generation();
        Optional<Alias> old = Optional.of(alias("alias/orders"));

        cache.changed(ACCOUNT, "alias/other");

        assertThat(cache.put(ACCOUNT, "alias/orders", old, readAt)).isEqualTo(old);
        assertThat(cache.get(ACCOUNT, "alias/orders")).isNull();
        assertThat(cache.put(ACCOUNT, "alias/orders", old, cache.generation())).isEqualTo(old);
        assertThat(cache.get(ACCOUNT, "alias/orders")).isEqualTo(old);
    }

    @Test
    void changed_dropsOneAlias_orAllOfThemWhenNoNameIsGiven() {
        AliasCache cache = new AliasCache(100);
        cache.put(ACCOUNT, "alias/a", Optional.of(alias("alias/a")), cache.generation());
        cache.put(ACCOUNT, "alias/b", Optional.empty(), cache.generation());
        cache.put("444455556666", "alias/a", Optional.empty(), cache.generation());

        cache.changed(ACCOUNT, "alias/a");
        assertThat(cache.get(ACCOUNT, "alias/a")).isNull();
        assertThat(cache.get(ACCOUNT, "alias/b")).isEmpty();
        assertThat(cache.get("444455556666", "alias/a")).as("another account's alias of that name").isEmpty();

        cache.changed(null, null);
        assertThat(cache.size()).isZero();
    }

    @Test
    void staysWithinItsBound_keepingTheEntryJustPut() {
        AliasCache cache = new AliasCache(5);
        for (int i = 0; i < 20; i++) {
            cache.put(ACCOUNT, "alias/" + i, Optional.empty(), cache.generation());
            assertThat(cache.get(ACCOUNT, "alias/" + i)).as("the entry just put").isEmpty();
            assertThat(cache.size()).isBetween(1, 5);
        }
    }

    private static Alias alias(String name) {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        return new Alias(ACCOUNT, name, UUID.randomUUID(), now, now);
    }
}
