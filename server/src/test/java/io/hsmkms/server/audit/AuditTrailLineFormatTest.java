package io.hsmkms.server.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.hsmkms.audit.AuditVerifier;
import io.hsmkms.audit.TrailFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer splices a record's JSON bytes, made on the caller's thread, behind seq and prev. The lines
 * must stay byte for byte what one Jackson map of seq, prev and the fields gives, encoded as UTF-8 (the
 * format of every trail written so far, and what the verifier hashes): checked here against that map for
 * awkward records, for many random ones, and for the lines a real trail writes.
 */
class AuditTrailLineFormatTest {
    private static final String ACCOUNT = "111122223333";
    private static final String AWKWARD = "quote \" backslash \\ slash / tab \t nl \n cr \r nul \u0000 us \u001f del \u007f"
            + " latin é ß, cjk 鍵管理, rtl مفتاح, emoji 🔑👩‍💻, combining é, ls \u2028 ps \u2029 bom \ufeff"
            + " lone high \ud800 lone low \udc00 </script> <!-- & '";

    @TempDir
    Path dir;

    @Test
    void splicedLine_isTheOneJacksonMapLine_forAwkwardRecords() throws Exception {
        List<String> prevs = List.of(TrailFiles.GENESIS, TrailFiles.sha256Hex("x".getBytes(StandardCharsets.UTF_8)),
                "not \"hex\" \\ é 🔑", "");
        for (AuditRecord record : awkwardRecords()) {
            for (long seq : new long[] {1, 42, Long.MAX_VALUE}) {
                for (String prev : prevs) {
                    String expected = jacksonLine(seq, prev, record);

                    byte[] spliced = spliced(seq, prev, record);

                    assertThat(spliced).isEqualTo(expected.getBytes(StandardCharsets.UTF_8));
                }
            }
        }
    }

    @Test
    void splicedLine_isTheOneJacksonMapLine_forRandomRecords() throws Exception {
        Random random = new Random(20261124);
        for (int i = 0; i < 5_000; i++) {
            AuditRecord record = randomRecord(random);
            long seq = random.nextLong(1, Long.MAX_VALUE);
            String prev = TrailFiles.sha256Hex(randomText(random).getBytes(StandardCharsets.UTF_8));

            assertThat(spliced(seq, prev, record))
                    .as("record %d", i).isEqualTo(jacksonLine(seq, prev, record).getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aRealTrailWritesTheOneJacksonMapLines_andVerifies() throws Exception {
        List<AuditRecord> records = new ArrayList<>(awkwardRecords());
        Random random = new Random(7);
        for (int i = 0; i < 200; i++) {
            records.add(randomRecord(random));
        }
        HashChainedFileTrail trail = HashChainedFileTrail.open(new HashChainedFileTrail.Settings(dir,
                HashChainedFileTrail.Durability.SYNC, 8 * 1024, Duration.ofHours(1)),
                AuditTrailReleaseTest.softwareSigner(), Clock.systemUTC());
        // Many in flight, so the writer splices whole batches; in four waves, each written before the next comes,
        // so files close between batches however the writer batched (a file closes only after a batch).
        int wave = (records.size() + 3) / 4;
        for (int from = 0; from < records.size(); from += wave) {
            List<java.util.concurrent.CompletableFuture<Void>> written = new ArrayList<>();
            for (AuditRecord record : records.subList(from, Math.min(from + wave, records.size()))) {
                written.add(trail.appendAsync(record).toCompletableFuture());
            }
            java.util.concurrent.CompletableFuture.allOf(written.toArray(java.util.concurrent.CompletableFuture[]::new)).join();
        }
        trail.close();

        List<byte[]> lines = new ArrayList<>();
        for (Path file : TrailFiles.logFiles(dir)) {
            byte[] content = Files.readAllBytes(file);
            int start = 0;
            for (int i = 0; i < content.length; i++) {
                if (content[i] == '\n') {
                    lines.add(java.util.Arrays.copyOfRange(content, start, i));
                    start = i + 1;
                }
            }
        }
        assertThat(lines).hasSameSizeAs(records);
        String prev = TrailFiles.GENESIS;
        for (int i = 0; i < records.size(); i++) {
            assertThat(lines.get(i)).as("line %d", i + 1)
                    .isEqualTo(jacksonLine(i + 1, prev, records.get(i)).getBytes(StandardCharsets.UTF_8));
            prev = TrailFiles.sha256Hex(lines.get(i));
        }
        assertThat(TrailFiles.logFiles(dir)).as("the records span closed files").hasSizeGreaterThan(1);
        AuditVerifier.Report report = AuditVerifier.verify(dir, null);
        assertThat(report.problems()).isEmpty();
        assertThat(report.records()).isEqualTo(records.size());
    }

    /** A line as the writer makes it, in a buffer that starts too small so that it has to grow. */
    private static byte[] spliced(long seq, String prev, AuditRecord record) {
        JsonBytes out = new JsonBytes(8);
        HashChainedFileTrail.line(out, seq, prev, RecordJson.of(record));
        return out.toByteArray();
    }

    /** How lines were made before the writer spliced: one map, written by Jackson in one go. */
    private static String jacksonLine(long seq, String prev, AuditRecord record) throws JsonProcessingException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("seq", seq);
        fields.put("prev", prev);
        fields.putAll(referenceFields(record));
        return TrailFiles.JSON.writeValueAsString(fields);
    }

    private static List<AuditRecord> awkwardRecords() {
        Instant time = Instant.parse("2026-11-24T10:00:00.123456789Z");
        Map<String, String> context = new HashMap<>();
        context.put(AWKWARD, AWKWARD);
        context.put("", "");
        context.put("z", "last");
        context.put("A", "first");
        return List.of(
                // No principal, keys, alias, grant, reason, latency or details: the smallest ApiCall there is.
                new AuditRecord(time, "e1", AuditRecord.Type.ApiCall, "ListKeys", null, null, null, null, null, null,
                        null, null, null, AuditRecord.Outcome.Denied, null, null, null),
                // Only the account, which then stands at the top level.
                new AuditRecord(time, "e2", AuditRecord.Type.ApiCall, "ListKeys", "r2", null, ACCOUNT, null, null,
                        List.of(), null, null, null, AuditRecord.Outcome.Failed, "UNAVAILABLE", 0L, Map.of()),
                new AuditRecord(time, AWKWARD, AuditRecord.Type.ApiCall, AWKWARD, AWKWARD, AWKWARD, AWKWARD, AWKWARD,
                        AWKWARD, List.of(new AuditRecord.KeyUse(AWKWARD, AWKWARD, Integer.MAX_VALUE, context),
                                new AuditRecord.KeyUse(null, null, null, null),
                                new AuditRecord.KeyUse("k", null, 0, Map.of())),
                        AWKWARD, AWKWARD, AWKWARD, AuditRecord.Outcome.Invalid, AWKWARD, Long.MAX_VALUE, context),
                new AuditRecord(time, "e4", AuditRecord.Type.ApiCall, "ReEncrypt", "r4", "arn:hsmkms:iam::" + ACCOUNT + ":root",
                        ACCOUNT, "TOKEN", "::1", List.of(new AuditRecord.KeyUse("a", "arn:a", 1, Map.of("tenant", "t1")),
                                new AuditRecord.KeyUse("b", "arn:b", 2, Map.of("tenant", "t2"))),
                        "alias/x", "SYMMETRIC_DEFAULT", "grant-1", AuditRecord.Outcome.Allowed, null, 17L, null),
                AuditRecord.serviceEvent(time, "RotateKey", "k", "arn:k", ACCOUNT, Map.of("reason", "usage", "newVersion", "2")),
                AuditRecord.serviceEvent(Instant.EPOCH, "DeleteKey", "k", "arn:k", null, Map.of()));
    }

    private static AuditRecord randomRecord(Random random) {
        int keyCount = random.nextInt(4);
        List<AuditRecord.KeyUse> keys = new ArrayList<>();
        for (int k = 0; k < keyCount; k++) {
            keys.add(new AuditRecord.KeyUse(maybe(random), maybe(random), random.nextBoolean() ? null : random.nextInt(),
                    random.nextBoolean() ? null : randomMap(random)));
        }
        AuditRecord.Outcome[] outcomes = AuditRecord.Outcome.values();
        return new AuditRecord(Instant.ofEpochSecond(random.nextLong(0, 10_000_000_000L), random.nextInt(1_000_000_000)),
                randomText(random), random.nextBoolean() ? AuditRecord.Type.ApiCall : AuditRecord.Type.ServiceEvent,
                randomText(random), maybe(random), maybe(random), maybe(random), maybe(random), maybe(random), keys,
                maybe(random), maybe(random), maybe(random), outcomes[random.nextInt(outcomes.length)], maybe(random),
                random.nextBoolean() ? null : random.nextLong(), random.nextBoolean() ? null : randomMap(random));
    }

    private static Map<String, String> randomMap(Random random) {
        Map<String, String> map = new HashMap<>();
        int size = random.nextInt(4);
        for (int i = 0; i < size; i++) {
            map.put(randomText(random), randomText(random));
        }
        return map;
    }

    private static String maybe(Random random) {
        return random.nextInt(3) == 0 ? null : randomText(random);
    }

    /** Any UTF-16: ASCII and its control characters, other BMP characters, pairs, and lone surrogates. */
    private static String randomText(Random random) {
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(12);
        for (int i = 0; i < length; i++) {
            switch (random.nextInt(5)) {
                case 0, 1 -> text.append((char) random.nextInt(0x80));
                case 2 -> text.append((char) random.nextInt(0x80, 0x10000));
                case 3 -> text.appendCodePoint(random.nextInt(0x10000, 0x110000));
                default -> text.append(random.nextBoolean() ? "\"\\" : "\u2028");
            }
        }
        return text.toString();
    }

    /** The record as ordered maps, as the trail wrote it before RecordJson: absent fields left out, maps sorted. */
    private static Map<String, Object> referenceFields(AuditRecord record) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("eventTime", record.eventTime().toString());
        out.put("eventId", record.eventId());
        out.put("eventType", record.eventType().name());
        out.put("eventName", record.eventName());
        putIfPresent(out, "requestId", record.requestId());
        if (record.principalArn() != null || record.authMethod() != null || record.sourceIp() != null) {
            Map<String, Object> identity = new LinkedHashMap<>();
            putIfPresent(identity, "arn", record.principalArn());
            putIfPresent(identity, "accountId", record.accountId());
            putIfPresent(identity, "authMethod", record.authMethod());
            putIfPresent(identity, "sourceIp", record.sourceIp());
            out.put("principal", identity);
        } else {
            putIfPresent(out, "accountId", record.accountId());
        }
        if (!record.keys().isEmpty()) {
            out.put("keys", record.keys().stream().map(AuditTrailLineFormatTest::keyFields).toList());
        }
        putIfPresent(out, "alias", record.alias());
        putIfPresent(out, "algorithm", record.algorithm());
        putIfPresent(out, "grantId", record.grantId());
        out.put("outcome", record.outcome().name());
        putIfPresent(out, "errorReason", record.errorReason());
        putIfPresent(out, "latencyMicros", record.latencyMicros());
        if (!record.details().isEmpty()) {
            out.put("details", new java.util.TreeMap<>(record.details()));
        }
        return out;
    }

    private static Map<String, Object> keyFields(AuditRecord.KeyUse key) {
        Map<String, Object> out = new LinkedHashMap<>();
        putIfPresent(out, "keyId", key.keyId());
        putIfPresent(out, "keyArn", key.keyArn());
        putIfPresent(out, "version", key.version());
        if (key.encryptionContext() != null) {
            out.put("encryptionContext", new java.util.TreeMap<>(key.encryptionContext()));
        }
        return out;
    }

    private static void putIfPresent(Map<String, Object> map, String name, Object value) {
        if (value != null) {
            map.put(name, value);
        }
    }
}
