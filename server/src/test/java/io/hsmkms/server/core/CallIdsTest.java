package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class CallIdsTest {
    @Test
    void idsAreVersion4Uuids_inTheirUsualText() {
        for (int i = 0; i < 1_000; i++) {
            String id = CallIds.next();
            UUID parsed = UUID.fromString(id);

            assertThat(parsed.version()).isEqualTo(4);
            assertThat(parsed.variant()).isEqualTo(2);
            assertThat(parsed.toString()).isEqualTo(id).hasSize(36);
        }
    }

    @Test
    void idsDoNotRepeat_acrossThreads() throws Exception {
        Set<String> seen = ConcurrentHashMap.newKeySet();
        int threads = 8;
        int each = 50_000;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        seen.add(CallIds.next());
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }

        assertThat(seen).hasSize(threads * each);
    }
}
