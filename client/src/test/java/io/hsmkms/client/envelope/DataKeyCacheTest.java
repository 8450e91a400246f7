package io.hsmkms.client.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.client.CallCounter;
import io.hsmkms.client.KmsClient;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.server.testing.KmsServerExtension;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The data key cache against a real server: GenerateDataKey calls counted on the wire. */
class DataKeyCacheTest {
    private static final Map<String, String> CONTEXT = Map.of("tenant", "acme");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    private static final CallCounter calls = new CallCounter();
    private static KmsClient kms;
    private static String keyId;

    @BeforeAll
    static void connect() {
        kms = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true).intercept(calls).build();
        keyId = kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyId();
    }

    @AfterAll
    static void close() {
        kms.close();
    }

    @BeforeEach
    void reset() {
        calls.reset();
    }

    @Test
    void messageLimit_nMessagesShareOneDataKey_andEveryMessageStillDecrypts() {
        List<byte[]> envelopes = new ArrayList<>();
        try (EnvelopeEncryption cached = EnvelopeEncryption.builder(kms)
                .cache(CachePolicy.of(5, 1 << 20, Duration.ofMinutes(5))).build()) {
            for (int i = 0; i < 12; i++) {
                envelopes.add(cached.encrypt(keyId, CONTEXT, new byte[] {(byte) i}));
            }
            assertThat(calls.count("GenerateDataKey")).as("12 messages, 5 per key").isEqualTo(3);
            for (int i = 0; i < 12; i++) {
                assertThat(cached.decrypt(envelopes.get(i))).containsExactly((byte) i);
            }
        }
        // Same data key, different message ids: the envelopes still differ beyond the header's id.
        assertThat(envelopes.get(0)).isNotEqualTo(envelopes.get(1));
    }

    @Test
    void byteLimit_startsANewKeyWhenTheNextMessageWouldPassIt() {
        try (EnvelopeEncryption cached = EnvelopeEncryption.builder(kms)
                .cache(CachePolicy.of(1000, 1000, Duration.ofMinutes(5))).build()) {
            for (int i = 0; i < 5; i++) {
                cached.encrypt(keyId, CONTEXT, new byte[300]);
            }
            // 300 + 300 + 300 = 900; the 4th would make 1200, so a new key; then 300 + 300.
            assertThat(calls.count("GenerateDataKey")).isEqualTo(2);
            cached.encrypt(keyId, CONTEXT, new byte[1001]);
            assertThat(calls.count("GenerateDataKey")).as("larger than the limit on its own: uncached").isEqualTo(3);
        }
    }

    @Test
    void ageLimit_expiresTheEntry() throws InterruptedException {
        try (EnvelopeEncryption cached = EnvelopeEncryption.builder(kms)
                .cache(CachePolicy.of(1000, 1 << 20, Duration.ofMillis(300))).build()) {
            cached.encrypt(keyId, CONTEXT, new byte[1]);
            cached.encrypt(keyId, CONTEXT, new byte[1]);
            assertThat(calls.count("GenerateDataKey")).isEqualTo(1);
            Thread.sleep(400);
            cached.encrypt(keyId, CONTEXT, new byte[1]);
            assertThat(calls.count("GenerateDataKey")).isEqualTo(2);
        }
    }

    @Test
    void entriesAreSeparatePerContext_andUnknownLengthsBypassTheCache() {
        try (EnvelopeEncryption cached = EnvelopeEncryption.builder(kms)
                .cache(CachePolicy.of(100, 1 << 20, Duration.ofMinutes(5))).build()) {
            cached.encrypt(keyId, Map.of("tenant", "a"), new byte[1]);
            cached.encrypt(keyId, Map.of("tenant", "b"), new byte[1]);
            cached.encrypt(keyId, Map.of("tenant", "a"), new byte[1]);
            assertThat(calls.count("GenerateDataKey")).isEqualTo(2);

            cached.encrypt(keyId, Map.of("tenant", "a"), new ByteArrayInputStream(new byte[1]), new ByteArrayOutputStream());
            assertThat(calls.count("GenerateDataKey")).isEqualTo(3);
        }
    }

    @Test
    void concurrentEncryptions_shareEntriesWithinTheMessageLimit_andAllDecrypt() throws Exception {
        int threads = 8;
        int perThread = 50;
        try (EnvelopeEncryption cached = EnvelopeEncryption.builder(kms)
                .cache(CachePolicy.of(100, 1 << 20, Duration.ofMinutes(5))).build()) {
            var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
            List<java.util.concurrent.Future<List<byte[]>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    List<byte[]> mine = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        mine.add(cached.encrypt(keyId, CONTEXT, new byte[] {(byte) i}));
                    }
                    return mine;
                }));
            }
            List<byte[]> all = new ArrayList<>();
            for (var result : results) {
                all.addAll(result.get());
            }
            pool.shutdown();
            // 400 messages at 100 per key: 4 keys; threads that miss together wait for one fetch.
            assertThat(calls.count("GenerateDataKey")).isEqualTo(4);
            for (int i = 0; i < all.size(); i++) {
                assertThat(cached.decrypt(all.get(i))).containsExactly((byte) (i % perThread));
            }
        }
    }

    @Test
    void evictedAndClosedEntries_areZeroed() {
        List<DataKey> issued = new ArrayList<>();
        DataKeySource source = (k, ctx, len) -> {
            DataKey key = new DataKey(new byte[] {7, 7, 7, 7}, new byte[] {1}, "arn");
            issued.add(key);
            return key;
        };
        CachingDataKeySource cache = new CachingDataKeySource(source, CachePolicy.of(2, 100, Duration.ofMinutes(1)),
                System::nanoTime);
        var ctx = new java.util.TreeMap<String, String>();
        try (DataKey a = cache.dataKeyFor("k", ctx, 1); DataKey b = cache.dataKeyFor("k", ctx, 1)) {
            assertThat(a.plaintext()).containsExactly(7, 7, 7, 7);
            assertThat(b.plaintext()).containsExactly(7, 7, 7, 7);
        }
        assertThat(issued.get(0).plaintext()).as("spent after 2 messages").containsOnly(0);
        cache.dataKeyFor("k", ctx, 1).close();
        assertThat(issued.get(1).plaintext()).containsExactly(7, 7, 7, 7);
        cache.close();
        assertThat(issued.get(1).plaintext()).as("closed cache").containsOnly(0);
        assertThat(cache.size()).isZero();
    }
}
