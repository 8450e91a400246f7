package io.hsmkms.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.client.cli.CliProcess.Run;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.server.audit.HashChainedFileTrail;
import io.hsmkms.server.testing.KmsServerExtension;
import io.hsmkms.server.testing.KmsTestServer;
import io.grpc.StatusRuntimeException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hsmkms audit watch|verify|query} and the KEY_STATE_UNAVAILABLE state, the CLI as a separate
 * process against a real server on a fresh token. Few launches: each one is a JVM start.
 */
class AuditCliTest {
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    @TempDir
    static Path home;

    @Test
    void watch_byDefaultSeesLifecycleChangesNotEncrypt_andWithAllSeesEncrypt() throws Exception {
        KeyMetadata used = createKey("used");
        int before = watchers();
        CliProcess lifecycle = hsmkms("--output", "json", "audit", "watch", "--count", "2");
        CliProcess everything = hsmkms("audit", "watch", "--all", "--key-id", used.getKeyId(), "--count", "2");
        awaitWatchers(before + 2);

        KeyMetadata doomed = createKey("doomed");
        server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(used.getKeyId())
                .setPlaintext(ByteString.copyFromUtf8("x")).build());
        server.kms().scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(doomed.getKeyId()).build());
        server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(used.getKeyId()).build());

        // json: the trail's records as written; the Encrypt between the two is not streamed by default.
        Run json = lifecycle.finish(30);
        assertThat(json.exit()).as(json.stderr()).isZero();
        List<String> records = json.out().lines().toList();
        assertThat(records).hasSize(2);
        // (The server's CreateKey record names no key, so it is matched by name only.)
        assertThat(records.get(0)).startsWith("{\"seq\":").contains("\"eventName\":\"CreateKey\"");
        assertThat(records.get(1)).contains("\"eventName\":\"ScheduleKeyDeletion\"").contains(doomed.getKeyId());
        assertThat(trail()).anyMatch(line -> line.equals(records.get(1)));

        // table: time, event name, outcome, key ARNs; --all brings the Encrypt, --key-id leaves out the other key.
        Run table = everything.finish(30);
        assertThat(table.exit()).as(table.stderr()).isZero();
        List<String> lines = table.out().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).matches("20\\d\\d-\\d\\d-\\d\\dT\\S+Z  Encrypt  Allowed  " + used.getArn());
        assertThat(lines.get(1)).contains("  DisableKey  Allowed  " + used.getArn());
    }

    @Test
    void verify_isIntactOnTheRealTrail_andExitsOneAfterOneLineIsEdited_andQueryFiltersByAction() throws Exception {
        KeyMetadata key = createKey("verified");
        server.kms().scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(key.getKeyId()).build());
        createKey("after");
        Path copy = home.resolve("trail-copy");
        copyTrail(copy);

        Run intact = hsmkms("audit", "verify", "--dir", copy.toString()).finish(60);
        assertThat(intact.exit()).as(intact.out() + intact.stderr()).isZero();
        assertThat(intact.out()).contains("INTACT").doesNotContain("BROKEN");

        // Edit line 1 of the first log file (its eventTime, 2026 -> 1026): line 2 no longer follows it.
        Path first;
        try (Stream<Path> files = Files.list(copy)) {
            first = files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).min(Comparator.naturalOrder()).orElseThrow();
        }
        List<String> content = new ArrayList<>(TrailFiles.recordLines(first));
        assertThat(content).hasSizeGreaterThan(2);
        content.set(0, content.get(0).replaceFirst("\"eventTime\":\"2", "\"eventTime\":\"1"));
        Files.write(first, content, StandardCharsets.UTF_8);

        Run broken = hsmkms("audit", "verify", "--dir", copy.toString()).finish(60);
        assertThat(broken.exit()).as(broken.out() + broken.stderr()).isEqualTo(1);
        assertThat(broken.out()).contains("BROKEN " + first.getFileName() + ":2: hash chain broken").contains("NOT INTACT");

        // query: the live trail found through HSMKMS_AUDIT_DIR, as bin/audit does.
        Run query = CliProcess.run(home, Map.of("HSMKMS_AUDIT_DIR", KmsTestServer.auditDir(server.testServer().dataDir())
                .toString()), null, "--output", "json", "audit", "query", "--action", "ScheduleKeyDeletion");
        assertThat(query.exit()).as(query.stderr()).isZero();
        assertThat(query.out().lines().toList()).isNotEmpty()
                .allMatch(line -> line.contains("\"eventName\":\"ScheduleKeyDeletion\""))
                .anyMatch(line -> line.contains(key.getKeyId()));
        assertThat(trail().stream().filter(line -> line.contains("\"eventName\":\"ScheduleKeyDeletion\"")).count())
                .isEqualTo(query.out().lines().count());
    }

    @Test
    void keysDescribe_printsTheUnavailableState_whenTheHsmLostTheMaterial() throws Exception {
        KeyMetadata lost = createKey("lost");
        server.hsm().destroyKey(new HsmKeyRef("hsmkms/" + lost.getKeyId() + "/1"));
        try {
            server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(lost.getKeyId())
                    .setPlaintext(ByteString.copyFromUtf8("x")).build());
        } catch (StatusRuntimeException expected) {
            // KeyUnavailableException: the server now knows the material is missing.
        }

        Run describe = hsmkms("keys", "describe", lost.getKeyId()).finish(60);

        assertThat(describe.exit()).as(describe.stderr()).isZero();
        assertThat(describe.out()).containsPattern("keyState\\s+KEY_STATE_UNAVAILABLE");
    }

    private static CliProcess hsmkms(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--plaintext", "--endpoint", "127.0.0.1:" + server.server().port()));
        all.addAll(List.of(args));
        return CliProcess.start(home, Map.of(), null, all.toArray(String[]::new));
    }

    private static KeyMetadata createKey(String description) {
        return server.kms().createKey(CreateKeyRequest.newBuilder().setDescription(description).build()).getKeyMetadata();
    }

    private static List<String> trail() throws Exception {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(KmsTestServer.auditDir(server.testServer().dataDir()))) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                lines.addAll(TrailFiles.recordLines(file));
            }
        }
        return lines;
    }

    private static void copyTrail(Path target) throws Exception {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(KmsTestServer.auditDir(server.testServer().dataDir()))) {
            for (Path file : files.toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
    }

    /**
     * How many WatchEvents streams the trail feeds. The server sends nothing before the first event,
     * so this is the only way to know a CLI process's watch has started before making the events.
     */
    private static int watchers() throws Exception {
        Field subscribers = HashChainedFileTrail.class.getDeclaredField("subscribers");
        subscribers.setAccessible(true);
        return ((List<?>) subscribers.get(server.testServer().audit())).size();
    }

    private static void awaitWatchers(int count) throws Exception {
        long until = System.nanoTime() + 30_000_000_000L;
        while (watchers() < count) {
            assertThat(System.nanoTime()).as("%d watches subscribed in time", count).isLessThan(until);
            Thread.sleep(50);
        }
    }
}
