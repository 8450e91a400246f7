package io.hsmkms.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.hsmkms.proto.v1.CreateGrantResponse;
import io.hsmkms.proto.v1.GenerateDataKeyResponse;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.client.cli.CliProcess.Run;
import io.hsmkms.server.testing.KmsServerExtension;
import io.hsmkms.server.testing.KmsTestServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a separate process (java -cp ... Hsmkms) against a real server on a fresh token. */
class HsmkmsCliTest {
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    @TempDir
    static Path dir;
    private static String keyId;

    private static Run hsmkms(Map<String, String> env, byte[] stdin, String... args) throws Exception {
        return CliProcess.run(dir, env, stdin, args);
    }

    /** Against the test server, plaintext (it runs in insecure dev mode as the account root). */
    private static Run hsmkms(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--plaintext", "--endpoint", endpoint()));
        all.addAll(List.of(args));
        return hsmkms(Map.of(), null, all.toArray(String[]::new));
    }

    private static String endpoint() {
        return "127.0.0.1:" + server.server().port();
    }

    @BeforeAll
    static void createKey() throws Exception {
        Run created = hsmkms("--output", "json", "keys", "create", "--description", "cli test", "--tag", "team=ops");
        assertThat(created.exit()).as(created.stderr()).isZero();
        KeyMetadata.Builder metadata = KeyMetadata.newBuilder();
        JsonFormat.parser().merge(created.out(), metadata);
        keyId = metadata.getKeyId();
        assertThat(metadata.getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);
    }

    @Test
    void encryptThenDecryptAFile_isByteIdentical_andTheEnvelopeHidesThePlaintext() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(1).nextBytes(data);
        Path plain = Files.write(dir.resolve("data.bin"), data);
        Path sealed = dir.resolve("data.bin.hkev");
        Path back = dir.resolve("data.out");

        Run enc = hsmkms("encrypt", "--key-id", keyId, "--context", "app=cli", "--in", plain.toString(),
                "--out", sealed.toString());
        assertThat(enc.exit()).as(enc.stderr()).isZero();
        assertThat(Files.size(sealed)).isGreaterThan(data.length);

        Run dec = hsmkms("decrypt", "--context", "app=cli", "--in", sealed.toString(), "--out", back.toString());
        assertThat(dec.exit()).as(dec.stderr()).isZero();
        assertThat(Files.readAllBytes(back)).isEqualTo(data);
    }

    @Test
    void stdinToStdout_roundTrips() throws Exception {
        byte[] data = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
        List<String> base = List.of("--plaintext", "--endpoint", endpoint());
        Run enc = hsmkms(Map.of(), data, concat(base, "encrypt", "--key-id", keyId));
        assertThat(enc.exit()).as(enc.stderr()).isZero();
        Run dec = hsmkms(Map.of(), enc.stdout(), concat(base, "decrypt"));
        assertThat(dec.exit()).as(dec.stderr()).isZero();
        assertThat(dec.stdout()).isEqualTo(data);
    }

    @Test
    void tamperedEnvelope_exitsOneWithTheReason_andLeavesNoOutputFile() throws Exception {
        Path plain = Files.write(dir.resolve("t.bin"), new byte[200_000]);
        Path sealed = dir.resolve("t.hkev");
        assertThat(hsmkms("encrypt", "--key-id", keyId, "--in", plain.toString(), "--out", sealed.toString()).exit()).isZero();
        byte[] bytes = Files.readAllBytes(sealed);
        bytes[bytes.length - 100] ^= 1;
        Files.write(sealed, bytes);
        Path out = dir.resolve("t.out");

        Run dec = hsmkms("decrypt", "--in", sealed.toString(), "--out", out.toString());

        assertThat(dec.exit()).isEqualTo(1);
        assertThat(dec.stderr()).contains("InvalidCiphertextException");
        assertThat(out).doesNotExist();
        try (var partial = Files.list(dir)) {
            assertThat(partial.map(Path::toString)).noneMatch(name -> name.endsWith(".partial"));
        }
    }

    @Test
    void wrongExpectedContext_andUnknownKey_exitOneWithReason() throws Exception {
        Path plain = Files.write(dir.resolve("c.bin"), new byte[10]);
        Path sealed = dir.resolve("c.hkev");
        assertThat(hsmkms("encrypt", "--key-id", keyId, "--context", "app=a", "--in", plain.toString(),
                "--out", sealed.toString()).exit()).isZero();

        Run dec = hsmkms("decrypt", "--context", "app=b", "--in", sealed.toString());
        assertThat(dec.exit()).isEqualTo(1);
        assertThat(dec.stderr()).contains("InvalidCiphertextException");
        assertThat(dec.stdout()).isEmpty();

        Run describe = hsmkms("keys", "describe", "00000000-0000-0000-0000-000000000000");
        assertThat(describe.exit()).isEqualTo(1);
        assertThat(describe.stderr()).contains("NotFoundException").contains("request id");
    }

    @Test
    void usageErrors_exitTwo_andAnUnreachableServiceExitsFour() throws Exception {
        assertThat(hsmkms("keys", "describe").exit()).isEqualTo(2);
        assertThat(hsmkms("no-such-command").exit()).isEqualTo(2);
        assertThat(hsmkms("--output", "yaml", "keys", "list").exit()).isEqualTo(2);
        Run help = hsmkms("keys", "describe", "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("Usage: hsmkms keys describe").contains("Exit codes:");

        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Run down = hsmkms(Map.of(), null, "--plaintext", "--endpoint", "127.0.0.1:" + port, "--timeout", "5",
                "random", "--number-of-bytes", "8");
        assertThat(down.exit()).as(down.stderr()).isEqualTo(4);
        assertThat(down.stderr()).contains("UNAVAILABLE");

        Run missing = hsmkms("encrypt", "--key-id", keyId, "--in", dir.resolve("nope").toString(), "--out",
                dir.resolve("nope.out").toString());
        assertThat(missing.exit()).isEqualTo(3);
    }

    @Test
    void settingsFromEnvironmentAndConfigFile() throws Exception {
        Run fromEnv = hsmkms(Map.of("HSMKMS_ENDPOINT", endpoint(), "HSMKMS_PLAINTEXT", "true", "HSMKMS_OUTPUT", "json"),
                null, "keys", "describe", keyId);
        assertThat(fromEnv.exit()).as(fromEnv.stderr()).isZero();
        assertThat(fromEnv.out()).contains("\"keyId\": \"" + keyId + "\"");

        Path config = Files.writeString(dir.resolve("cli.properties"), "endpoint=" + endpoint() + "\nplaintext=true\n");
        Run fromFile = hsmkms(Map.of("HSMKMS_CLI_CONFIG", config.toString()), null, "keys", "describe", keyId);
        assertThat(fromFile.exit()).as(fromFile.stderr()).isZero();
        assertThat(fromFile.out()).contains("keyState").contains("KEY_STATE_ENABLED");

        // The option beats the environment: a wrong endpoint in the environment is overridden.
        Run override = hsmkms(Map.of("HSMKMS_ENDPOINT", "127.0.0.1:1", "HSMKMS_PLAINTEXT", "true"), null,
                "--endpoint", endpoint(), "keys", "describe", keyId);
        assertThat(override.exit()).as(override.stderr()).isZero();
    }

    @Test
    void adminCommands_aliasesTagsRotationGrantsPolicy() throws Exception {
        ok("aliases", "create", "alias/cli", keyId);
        assertThat(ok("aliases", "list", "--key-id", keyId)).contains("alias/cli").contains("aliasName");
        assertThat(ok("keys", "describe", "alias/cli")).contains(keyId);
        ok("tags", "add", keyId, "env=test");
        assertThat(ok("tags", "list", keyId)).contains("env").contains("team");
        ok("tags", "remove", keyId, "env");
        assertThat(ok("tags", "list", keyId)).doesNotContain("env");
        ok("rotation", "enable", keyId, "--period-days", "90");
        assertThat(ok("rotation", "status", keyId)).contains("keyRotationEnabled").contains("true");
        assertThat(ok("rotation", "rotate-now", keyId)).contains("keyVersion");
        assertThat(ok("rotation", "list", keyId)).contains("ROTATION_TYPE_ON_DEMAND");
        ok("rotation", "disable", keyId);

        String grantJson = ok("--output", "json", "grants", "create", keyId, "--grantee",
                "arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":role/worker", "--operation", "Encrypt,Decrypt",
                "--context-subset", "app=cli");
        CreateGrantResponse.Builder grant = CreateGrantResponse.newBuilder();
        JsonFormat.parser().merge(grantJson, grant);
        assertThat(ok("grants", "list", keyId)).contains(grant.getGrantId()).contains("GRANT_OPERATION_DECRYPT");
        ok("grants", "revoke", keyId, grant.getGrantId());
        assertThat(ok("grants", "list", keyId)).doesNotContain(grant.getGrantId());

        String policy = ok("policy", "get", keyId);
        assertThat(policy).contains("\"Statement\"");
        Path policyFile = Files.writeString(dir.resolve("policy.json"), policy);
        ok("policy", "put", keyId, "--file", policyFile.toString());
        assertThat(ok("policy", "list", keyId)).contains("default");

        ok("keys", "disable", keyId);
        assertThat(ok("keys", "describe", keyId)).contains("KEY_STATE_DISABLED");
        ok("keys", "enable", keyId);
        assertThat(ok("keys", "list")).contains(keyId);
    }

    @Test
    void deletionAndImportCommands() throws Exception {
        String key = JsonKey.id(ok("--output", "json", "keys", "create", "--external"));
        assertThat(ok("keys", "describe", key)).contains("KEY_STATE_PENDING_IMPORT");
        assertThat(ok("import", "get-parameters", key, "--out-dir", dir.resolve("import").toString()))
                .contains("importToken");
        assertThat(dir.resolve("import/wrapping-key.der")).isNotEmptyFile();
        assertThat(ok("keys", "schedule-deletion", key, "--pending-window-days", "7")).contains("KEY_STATE_PENDING_DELETION");
        ok("keys", "cancel-deletion", key);
        assertThat(ok("keys", "describe", key)).contains("KEY_STATE_");
    }

    @Test
    void dataKeysRandomAndCompletion() throws Exception {
        GenerateDataKeyResponse.Builder dataKey = GenerateDataKeyResponse.newBuilder();
        JsonFormat.parser().merge(ok("--output", "json", "generate-data-key", "--key-id", keyId, "--context", "a=b"), dataKey);
        assertThat(dataKey.getPlaintext().size()).isEqualTo(32);
        assertThat(ok("generate-data-key", "--key-id", keyId, "--without-plaintext")).contains("ciphertextBlob")
                .doesNotContain("plaintext");
        assertThat(java.util.Base64.getDecoder().decode(ok("random", "--number-of-bytes", "24").split("\\s+")[1]))
                .hasSize(24);
        assertThat(ok("generate-completion")).contains("complete -F").contains("hsmkms");
    }

    @Test
    void blobCommands_encryptReEncryptDecrypt_throughTheRpcsThemselves() throws Exception {
        String other = JsonKey.id(ok("--output", "json", "keys", "create"));
        Path secret = Files.writeString(dir.resolve("secret.txt"), "db password");
        Path blob = dir.resolve("secret.blob");
        Path moved = dir.resolve("secret.moved");
        ok("encrypt-blob", "--key-id", keyId, "--context", "app=db", "--in", secret.toString(), "--out", blob.toString());
        ok("re-encrypt", "--destination-key-id", other, "--source-context", "app=db", "--destination-context", "app=db2",
                "--in", blob.toString(), "--out", moved.toString());

        assertThat(ok("decrypt-blob", "--key-id", other, "--context", "app=db2", "--in", moved.toString()))
                .isEqualTo("db password");
        Run wrongContext = hsmkms("decrypt-blob", "--context", "app=db", "--in", moved.toString());
        assertThat(wrongContext.exit()).isEqualTo(1);
        assertThat(wrongContext.stderr()).contains("InvalidCiphertextException");
    }

    private static String ok(String... args) throws Exception {
        Run run = hsmkms(args);
        assertThat(run.exit()).as("hsmkms %s: %s", String.join(" ", args), run.stderr()).isZero();
        return run.out();
    }

    private static String[] concat(List<String> first, String... rest) {
        List<String> all = new ArrayList<>(first);
        all.addAll(List.of(rest));
        return all.toArray(String[]::new);
    }

    private static final class JsonKey {
        static String id(String json) throws IOException {
            KeyMetadata.Builder metadata = KeyMetadata.newBuilder();
            JsonFormat.parser().merge(json, metadata);
            return metadata.getKeyId();
        }
    }
}
