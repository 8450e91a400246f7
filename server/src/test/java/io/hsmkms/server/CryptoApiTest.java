package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DataKeySpec;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DecryptResponse;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.GenerateDataKeyResponse;
import io.hsmkms.proto.v1.GenerateDataKeyWithoutPlaintextRequest;
import io.hsmkms.proto.v1.GenerateRandomRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ReEncryptRequest;
import io.hsmkms.proto.v1.ReEncryptResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class CryptoApiTest {
    private static final Map<String, String> CONTEXT = Map.of("tenant", "acme", "purpose", "invoices");
    private static final ByteString SECRET = ByteString.copyFrom("card 4111-1111", StandardCharsets.UTF_8);

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    private static KeyMetadata key;
    private static KeyMetadata otherKey;

    @BeforeAll
    static void setUp() {
        key = server.kms().createKey(CreateKeyRequest.newBuilder().setDescription("crypto").build()).getKeyMetadata();
        otherKey = server.kms().createKey(CreateKeyRequest.newBuilder().setDescription("other").build()).getKeyMetadata();
    }

    @Test
    void encryptThenDecrypt_withSameContext_returnsPlaintextAndKeyArn() {
        EncryptResponse encrypted = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, CONTEXT));
        assertThat(encrypted.getKeyId()).isEqualTo(key.getArn());
        assertThat(encrypted.getCiphertextBlob().toByteArray()).hasSize(33 + SECRET.size() + 16);
        assertThat(encrypted.getCiphertextBlob().toStringUtf8()).doesNotContain("4111");

        DecryptResponse decrypted = server.kms().decrypt(decrypt(encrypted.getCiphertextBlob(), CONTEXT).build());

        assertThat(decrypted.getPlaintext()).isEqualTo(SECRET);
        assertThat(decrypted.getKeyId()).isEqualTo(key.getArn());
    }

    @Test
    void encrypt_twice_givesDifferentCiphertexts() {
        ByteString a = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, CONTEXT)).getCiphertextBlob();
        ByteString b = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, CONTEXT)).getCiphertextBlob();

        assertThat(a).isNotEqualTo(b);
        assertThat(a.substring(21, 33)).as("IVs").isNotEqualTo(b.substring(21, 33));
    }

    @Test
    void decrypt_withKeyIdOrArnOfTheRightKey_works() {
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, Map.of())).getCiphertextBlob();

        assertThat(server.kms().decrypt(decrypt(blob, Map.of()).setKeyId(key.getKeyId()).build()).getPlaintext()).isEqualTo(SECRET);
        assertThat(server.kms().decrypt(decrypt(blob, Map.of()).setKeyId(key.getArn()).build()).getPlaintext()).isEqualTo(SECRET);
    }

    @Test
    void decrypt_withKeyIdOfAnotherKey_failsAsIncorrectKey() {
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, Map.of())).getCiphertextBlob();

        assertFails(Code.INVALID_ARGUMENT, "IncorrectKeyException",
                () -> server.kms().decrypt(decrypt(blob, Map.of()).setKeyId(otherKey.getKeyId()).build()));
    }

    @Test
    void decrypt_withWrongMissingOrExtraContext_failsAsInvalidCiphertext() {
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, CONTEXT)).getCiphertextBlob();

        for (Map<String, String> wrong : java.util.List.of(
                Map.<String, String>of(),
                Map.of("tenant", "acme"),
                Map.of("tenant", "acme", "purpose", "payroll"),
                Map.of("tenant", "acme", "purpose", "invoices", "extra", "x"),
                Map.of("Tenant", "acme", "purpose", "invoices"))) {
            assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> server.kms().decrypt(decrypt(blob, wrong).build()));
        }
        assertThat(server.kms().decrypt(decrypt(blob, new java.util.TreeMap<>(CONTEXT)).build()).getPlaintext()).isEqualTo(SECRET);
    }

    @Test
    void encrypt_plaintextSizes_acceptsOneTo4096Bytes() {
        ByteString max = ByteString.copyFrom(new byte[4096]);
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), max, Map.of())).getCiphertextBlob();
        assertThat(server.kms().decrypt(decrypt(blob, Map.of()).build()).getPlaintext()).isEqualTo(max);
        ByteString one = ByteString.copyFrom(new byte[] {7});
        assertThat(server.kms().decrypt(decrypt(server.kms().encrypt(encrypt(key.getKeyId(), one, Map.of())).getCiphertextBlob(), Map.of())
                .build()).getPlaintext()).isEqualTo(one);

        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().encrypt(encrypt(key.getKeyId(), ByteString.EMPTY, Map.of())));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().encrypt(encrypt(key.getKeyId(), ByteString.copyFrom(new byte[4097]), Map.of())));
    }

    @Test
    void invalidRequests_neverReachTheHsm() {
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, Map.of())).getCiphertextBlob();
        long before = server.hsm().calls();

        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().encrypt(encrypt(key.getKeyId(), ByteString.EMPTY, Map.of())));
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> server.kms().encrypt(encrypt("00000000-0000-4000-8000-000000000000", SECRET, Map.of())));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().encrypt(encrypt("bogus", SECRET, Map.of())));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().encrypt(encrypt(key.getKeyId(), SECRET, Map.of("", "empty key"))));
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException",
                () -> server.kms().decrypt(decrypt(ByteString.EMPTY, Map.of()).build()));
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException",
                () -> server.kms().decrypt(decrypt(blob.substring(0, 40), Map.of()).build()));
        assertFails(Code.INVALID_ARGUMENT, "IncorrectKeyException",
                () -> server.kms().decrypt(decrypt(blob, Map.of()).setKeyId(otherKey.getKeyId()).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().generateRandom(GenerateRandomRequest.newBuilder().setNumberOfBytes(0).build()));

        assertThat(server.hsm().calls()).isEqualTo(before);
    }

    @Test
    void encryptionContext_tooLarge_failsAsValidation() {
        Map<String, String> huge = Map.of("k", "v".repeat(8200));

        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().encrypt(encrypt(key.getKeyId(), SECRET, huge)));
    }

    @Test
    void unsupportedEncryptionAlgorithm_failsAsValidation() {
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().encrypt(encrypt(key.getKeyId(), SECRET, Map.of()).toBuilder().setEncryptionAlgorithmValue(9).build()));
    }

    @Test
    void hugeRequest_isRejectedByTheTransport() {
        ByteString tooBig = ByteString.copyFrom(new byte[200 * 1024]);

        StatusRuntimeException e = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class,
                () -> server.kms().encrypt(encrypt(key.getKeyId(), tooBig, Map.of())));

        assertThat(e.getStatus().getCode()).isEqualTo(Code.RESOURCE_EXHAUSTED);
    }

    @Test
    void errors_carryTheRequestId() {
        StatusRuntimeException e = assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> server.kms().encrypt(encrypt("00000000-0000-4000-8000-000000000000", SECRET, Map.of())));

        String requestId = e.getTrailers().get(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER));
        assertThat(requestId).matches("[0-9a-f-]{36}");
        assertThat(io.grpc.protobuf.StatusProto.fromThrowable(e).getDetails(0).toString()).contains(requestId);
    }

    @Test
    void generateDataKey_returnsPlaintextAndItsCiphertext() {
        for (DataKeySpec spec : new DataKeySpec[] {DataKeySpec.DATA_KEY_SPEC_AES_256, DataKeySpec.DATA_KEY_SPEC_AES_128}) {
            GenerateDataKeyResponse dataKey = server.kms().generateDataKey(GenerateDataKeyRequest.newBuilder()
                    .setKeyId(key.getKeyId()).setKeySpec(spec).putAllEncryptionContext(CONTEXT).build());

            assertThat(dataKey.getPlaintext().size()).isEqualTo(spec == DataKeySpec.DATA_KEY_SPEC_AES_256 ? 32 : 16);
            assertThat(dataKey.getKeyId()).isEqualTo(key.getArn());
            assertThat(server.kms().decrypt(decrypt(dataKey.getCiphertextBlob(), CONTEXT).build()).getPlaintext())
                    .isEqualTo(dataKey.getPlaintext());
        }
    }

    @Test
    void generateDataKey_numberOfBytes_acceptsOneTo1024() {
        for (int n : new int[] {1, 64, 1024}) {
            GenerateDataKeyResponse dataKey = server.kms().generateDataKey(GenerateDataKeyRequest.newBuilder()
                    .setKeyId(key.getKeyId()).setNumberOfBytes(n).build());
            assertThat(dataKey.getPlaintext().size()).isEqualTo(n);
        }
        for (int n : new int[] {0, -1, 1025}) {
            assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().generateDataKey(
                    GenerateDataKeyRequest.newBuilder().setKeyId(key.getKeyId()).setNumberOfBytes(n).build()));
        }
    }

    @Test
    void generateDataKey_withBothOrNeitherSpecAndLength_failsAsValidation() {
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().generateDataKey(GenerateDataKeyRequest.newBuilder()
                .setKeyId(key.getKeyId()).setNumberOfBytes(32).setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().generateDataKeyWithoutPlaintext(
                GenerateDataKeyWithoutPlaintextRequest.newBuilder().setKeyId(key.getKeyId()).build()));
    }

    @Test
    void generateDataKeyWithoutPlaintext_givesABlobThatDecryptsToAFreshKey() {
        ByteString blob = server.kms().generateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest.newBuilder()
                .setKeyId(key.getArn()).setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).putAllEncryptionContext(CONTEXT)
                .build()).getCiphertextBlob();
        ByteString again = server.kms().generateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest.newBuilder()
                .setKeyId(key.getArn()).setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).putAllEncryptionContext(CONTEXT)
                .build()).getCiphertextBlob();

        ByteString first = server.kms().decrypt(decrypt(blob, CONTEXT).build()).getPlaintext();
        ByteString second = server.kms().decrypt(decrypt(again, CONTEXT).build()).getPlaintext();
        assertThat(first.size()).isEqualTo(32);
        assertThat(first).isNotEqualTo(second);
    }

    @Test
    void reEncrypt_movesCiphertextToDestinationKeyAndContext() {
        Map<String, String> newContext = Map.of("tenant", "acme", "purpose", "archive");
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, CONTEXT)).getCiphertextBlob();

        ReEncryptResponse moved = server.kms().reEncrypt(ReEncryptRequest.newBuilder().setCiphertextBlob(blob)
                .putAllSourceEncryptionContext(CONTEXT).setDestinationKeyId(otherKey.getKeyId())
                .putAllDestinationEncryptionContext(newContext).build());

        assertThat(moved.getSourceKeyId()).isEqualTo(key.getArn());
        assertThat(moved.getKeyId()).isEqualTo(otherKey.getArn());
        assertThat(moved.toString()).doesNotContain("card 4111");
        DecryptResponse decrypted = server.kms().decrypt(decrypt(moved.getCiphertextBlob(), newContext).build());
        assertThat(decrypted.getPlaintext()).isEqualTo(SECRET);
        assertThat(decrypted.getKeyId()).isEqualTo(otherKey.getArn());
        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException",
                () -> server.kms().decrypt(decrypt(moved.getCiphertextBlob(), CONTEXT).build()));
    }

    @Test
    void reEncrypt_checksSourceContextSourceKeyAndDestinationState() {
        ByteString blob = server.kms().encrypt(encrypt(key.getKeyId(), SECRET, CONTEXT)).getCiphertextBlob();

        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> server.kms().reEncrypt(ReEncryptRequest.newBuilder()
                .setCiphertextBlob(blob).setDestinationKeyId(otherKey.getKeyId()).build()));
        assertFails(Code.INVALID_ARGUMENT, "IncorrectKeyException", () -> server.kms().reEncrypt(ReEncryptRequest.newBuilder()
                .setCiphertextBlob(blob).putAllSourceEncryptionContext(CONTEXT).setSourceKeyId(otherKey.getKeyId())
                .setDestinationKeyId(otherKey.getKeyId()).build()));
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> server.kms().reEncrypt(ReEncryptRequest.newBuilder()
                .setCiphertextBlob(blob).putAllSourceEncryptionContext(CONTEXT).build()));

        KeyMetadata disabled = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
        server.kms().disableKey(DisableKeyRequest.newBuilder().setKeyId(disabled.getKeyId()).build());
        assertFails(Code.FAILED_PRECONDITION, "DisabledException", () -> server.kms().reEncrypt(ReEncryptRequest.newBuilder()
                .setCiphertextBlob(blob).putAllSourceEncryptionContext(CONTEXT).setDestinationKeyId(disabled.getKeyId())
                .build()));
    }

    @Test
    void generateRandom_returnsRequestedBytes() {
        assertThat(server.kms().generateRandom(GenerateRandomRequest.newBuilder().setNumberOfBytes(1).build()).getPlaintext().size())
                .isEqualTo(1);
        ByteString a = server.kms().generateRandom(GenerateRandomRequest.newBuilder().setNumberOfBytes(1024).build()).getPlaintext();
        ByteString b = server.kms().generateRandom(GenerateRandomRequest.newBuilder().setNumberOfBytes(1024).build()).getPlaintext();
        assertThat(a.size()).isEqualTo(1024);
        assertThat(a).isNotEqualTo(b);
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> server.kms().generateRandom(GenerateRandomRequest.newBuilder().setNumberOfBytes(1025).build()));
    }

    private static EncryptRequest encrypt(String keyId, ByteString plaintext, Map<String, String> context) {
        return EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(plaintext).putAllEncryptionContext(context).build();
    }

    private static DecryptRequest.Builder decrypt(ByteString blob, Map<String, String> context) {
        return DecryptRequest.newBuilder().setCiphertextBlob(blob).putAllEncryptionContext(context);
    }
}
