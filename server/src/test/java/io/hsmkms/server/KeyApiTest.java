package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EnableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptionAlgorithmSpec;
import io.hsmkms.proto.v1.KeyListEntry;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeySpec;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.KeyUsage;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.ListKeysResponse;
import io.hsmkms.proto.v1.OriginType;
import io.hsmkms.server.testing.KmsTestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class KeyApiTest {
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void createKey_returnsEnabledSymmetricKeyOfTheAccount() {
        Instant before = Instant.now().minusSeconds(1);

        KeyMetadata key = server.kms().createKey(CreateKeyRequest.newBuilder().setDescription("payments").build()).getKeyMetadata();

        assertThat(key.getKeyId()).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        assertThat(key.getArn()).isEqualTo("arn:hsmkms:kms:" + KmsTestServer.REGION + ":" + KmsTestServer.ACCOUNT
                + ":key/" + key.getKeyId());
        assertThat(key.getAccountId()).isEqualTo(KmsTestServer.ACCOUNT);
        assertThat(key.getDescription()).isEqualTo("payments");
        assertThat(key.getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);
        assertThat(key.getEnabled()).isTrue();
        assertThat(key.getKeySpec()).isEqualTo(KeySpec.KEY_SPEC_SYMMETRIC_DEFAULT);
        assertThat(key.getKeyUsage()).isEqualTo(KeyUsage.KEY_USAGE_ENCRYPT_DECRYPT);
        assertThat(key.getOrigin()).isEqualTo(OriginType.ORIGIN_HSM);
        assertThat(key.getEncryptionAlgorithmsList()).containsExactly(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT);
        assertThat(key.getCurrentKeyVersion()).isEqualTo(1);
        Instant created = Instant.ofEpochSecond(key.getCreationDate().getSeconds(), key.getCreationDate().getNanos());
        assertThat(created).isBetween(before, Instant.now().plus(Duration.ofSeconds(1)));
        assertThat(server.hsm().listKeyLabels()).contains("hsmkms/" + key.getKeyId() + "/1");
    }

    @Test
    void describeKey_byIdOrArn_returnsWhatCreateReturned() {
        KeyMetadata created = createKey("describe me");

        assertThat(server.kms().describeKey(describe(created.getKeyId())).getKeyMetadata()).isEqualTo(created);
        assertThat(server.kms().describeKey(describe(created.getArn())).getKeyMetadata()).isEqualTo(created);
        assertThat(server.kms().describeKey(describe(created.getKeyId().toUpperCase())).getKeyMetadata()).isEqualTo(created);
    }

    @Test
    void describeKey_unknownKeyOrOtherRegion_failsAsNotFound_otherAccountAsAccessDenied() {
        String unknown = "00000000-0000-4000-8000-000000000000";
        assertFails(Code.NOT_FOUND, "NotFoundException", () -> server.kms().describeKey(describe(unknown)));

        KeyMetadata key = createKey("foreign");
        // Another account's key (existing or not) is none of this caller's business: no existence oracle.
        String otherAccountArn = key.getArn().replace(KmsTestServer.ACCOUNT, "999999999999");
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> server.kms().describeKey(describe(otherAccountArn)));
        String otherRegionArn = key.getArn().replace(":" + KmsTestServer.REGION + ":", ":elsewhere-1:");
        assertFails(Code.NOT_FOUND, "NotFoundException", () -> server.kms().describeKey(describe(otherRegionArn)));
    }

    @Test
    void describeKey_malformedId_failsAsValidation() {
        for (String bad : List.of("", "not-a-key", "1234", "arn:hsmkms:kms:test-1:111122223333:key/nope",
                "alias/../etc", "x".repeat(3000))) {
            assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().describeKey(describe(bad)));
        }
    }

    @Test
    void createKey_withTooLongDescription_failsAndCreatesNothing() {
        int keysBefore = allKeys().size();
        long hsmObjectsBefore = server.hsm().listKeyLabels().size();

        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().createKey(CreateKeyRequest.newBuilder().setDescription("d".repeat(8193)).build()));

        assertThat(allKeys()).hasSize(keysBefore);
        assertThat(server.hsm().listKeyLabels()).hasSize((int) hsmObjectsBefore);
        assertThat(createKey("d".repeat(8192)).getDescription()).hasSize(8192);
    }

    @Test
    void createKey_withUnknownEnumValues_failsAsValidation() {
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().createKey(CreateKeyRequest.newBuilder().setKeySpecValue(42).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().createKey(CreateKeyRequest.newBuilder().setKeyUsageValue(42).build()));
    }

    @Test
    void listKeys_pagesThroughEveryKeyOnceInOrder() {
        for (int i = 0; i < 5; i++) {
            createKey("page " + i);
        }
        List<String> expected = allKeys().stream().map(KeyListEntry::getKeyId).toList();

        List<String> seen = new ArrayList<>();
        String marker = "";
        int pages = 0;
        do {
            ListKeysResponse page = server.kms().listKeys(ListKeysRequest.newBuilder().setLimit(2).setMarker(marker).build());
            assertThat(page.getKeysCount()).isBetween(1, 2);
            page.getKeysList().forEach(k -> seen.add(k.getKeyId()));
            assertThat(page.getKeysList()).allSatisfy(k -> assertThat(k.getKeyArn()).endsWith(":key/" + k.getKeyId()));
            marker = page.getTruncated() ? page.getNextMarker() : null;
            pages++;
        } while (marker != null);

        assertThat(seen).containsExactlyElementsOf(expected).isSorted();
        assertThat(pages).isEqualTo((expected.size() + 1) / 2);
        Set<String> unique = new HashSet<>(seen);
        assertThat(unique).hasSize(seen.size());
    }

    @Test
    void listKeys_withBadLimitOrMarker_failsAsValidation() {
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().listKeys(ListKeysRequest.newBuilder().setLimit(1001).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().listKeys(ListKeysRequest.newBuilder().setLimit(-1).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().listKeys(ListKeysRequest.newBuilder().setMarker("garbage").build()));
    }

    @Test
    void disableKey_blocksEncryptAndDecrypt_untilEnabledAgain() {
        KeyMetadata key = createKey("toggle");
        ByteString ciphertext = server.kms().encrypt(encrypt(key.getKeyId())).getCiphertextBlob();

        server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build());

        KeyMetadata disabled = server.kms().describeKey(describe(key.getKeyId())).getKeyMetadata();
        assertThat(disabled.getKeyState()).isEqualTo(KeyState.KEY_STATE_DISABLED);
        assertThat(disabled.getEnabled()).isFalse();
        long hsmCalls = server.hsm().calls();
        assertFails(Code.FAILED_PRECONDITION, "DisabledException", () -> server.kms().encrypt(encrypt(key.getKeyId())));
        assertFails(Code.FAILED_PRECONDITION, "DisabledException",
                () -> server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(ciphertext).build()));
        assertThat(server.hsm().calls()).as("a disabled key never reaches the HSM").isEqualTo(hsmCalls);

        server.kms().enableKey(EnableKeyRequest.newBuilder().setKeyId(key.getArn()).build());

        assertThat(server.kms().describeKey(describe(key.getKeyId())).getKeyMetadata().getKeyState())
                .isEqualTo(KeyState.KEY_STATE_ENABLED);
        assertThat(server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(ciphertext).build()).getPlaintext()
                .toStringUtf8()).isEqualTo("hello");
    }

    @Test
    void enableAndDisable_areIdempotent_andFailForUnknownKeys() {
        KeyMetadata key = createKey("idempotent");
        server.kms().enableKey(EnableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build());
        server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build());
        server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build());
        assertThat(server.kms().describeKey(describe(key.getKeyId())).getKeyMetadata().getKeyState())
                .isEqualTo(KeyState.KEY_STATE_DISABLED);

        String unknown = "00000000-0000-4000-8000-000000000001";
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> server.kms().enableKey(EnableKeyRequest.newBuilder().setKeyId(unknown).build()));
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(unknown).build()));
    }

    private static KeyMetadata createKey(String description) {
        return server.kms().createKey(CreateKeyRequest.newBuilder().setDescription(description).build()).getKeyMetadata();
    }

    private static List<KeyListEntry> allKeys() {
        return server.kms().listKeys(ListKeysRequest.newBuilder().setLimit(1000).build()).getKeysList();
    }

    private static DescribeKeyRequest describe(String keyId) {
        return DescribeKeyRequest.newBuilder().setKeyId(keyId).build();
    }

    private static EncryptRequest encrypt(String keyId) {
        return EncryptRequest.newBuilder().setKeyId(keyId)
                .setPlaintext(ByteString.copyFrom("hello", StandardCharsets.UTF_8)).build();
    }
}
