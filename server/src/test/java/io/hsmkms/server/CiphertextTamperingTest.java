package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Any change to a ciphertext blob fails the same way: InvalidCiphertextException, never plaintext. */
class CiphertextTamperingTest {
    private static final Map<String, String> CONTEXT = Map.of("order", "42");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    private static byte[] blob;

    @BeforeAll
    static void setUp() {
        String keyId = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        blob = server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                .setPlaintext(ByteString.copyFromUtf8("sixteen bytes!!!")).putAllEncryptionContext(CONTEXT).build())
                .getCiphertextBlob().toByteArray();
    }

    @Test
    void untouchedBlob_decrypts() {
        assertThat(decrypt(blob).toStringUtf8()).isEqualTo("sixteen bytes!!!");
    }

    @Test
    void everySingleBitFlip_failsAsInvalidCiphertext() {
        for (int bit = 0; bit < blob.length * 8; bit++) {
            byte[] tampered = blob.clone();
            tampered[bit / 8] ^= (byte) (1 << (bit % 8));
            assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> decrypt(tampered));
        }
    }

    @Test
    void everyTruncation_failsAsInvalidCiphertext() {
        for (int length = 0; length < blob.length; length++) {
            byte[] truncated = Arrays.copyOf(blob, length);
            assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> decrypt(truncated));
        }
    }

    @Test
    void extensions_failAsInvalidCiphertext() {
        for (int extra : new int[] {1, 16, 7000}) {
            byte[] extended = Arrays.copyOf(blob, blob.length + extra);
            assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> decrypt(extended));
        }
    }

    @Test
    void unknownBackingVersion_failsAsInvalidCiphertext() {
        for (int version : new int[] {0, 2, Integer.MAX_VALUE, -1}) {
            byte[] other = blob.clone();
            ByteBuffer.wrap(other).putInt(17, version);
            assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> decrypt(other));
        }
    }

    @Test
    void blobNamingAnUnknownKey_failsAsInvalidCiphertext() {
        byte[] other = blob.clone();
        ByteBuffer.wrap(other).putLong(1, 0x0123456789abcdefL);

        assertFails(Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> decrypt(other));
    }

    private static ByteString decrypt(byte[] ciphertext) {
        return server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(ByteString.copyFrom(ciphertext))
                .putAllEncryptionContext(CONTEXT).build()).getPlaintext();
    }
}
