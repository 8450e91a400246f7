package io.hsmkms.server.ciphertext;

import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;

/**
 * The only code that knows the ciphertext blob's bytes (docs/ciphertext-format.md):
 * <pre>
 * 0   1  format (0x01)
 * 1   16 key id (UUID, big-endian)
 * 17  4  backing key version (big-endian, >= 1)
 * 21  12 IV
 * 33  n  AES-GCM ciphertext, then the 16-byte tag
 * </pre>
 * The AES-GCM AAD is the 33-byte header followed by the canonical encryption context, so neither the
 * key reference nor the context can be changed without failing authentication.
 */
public final class CiphertextCodec {
    public static final byte FORMAT_V1 = 0x01;
    public static final int IV_LENGTH = 12;
    public static final int TAG_LENGTH = 16;
    public static final int HEADER_LENGTH = 1 + 16 + 4 + IV_LENGTH;
    /** As AWS KMS: ciphertext blobs are at most 6144 bytes. */
    public static final int MAX_BLOB_LENGTH = 6144;

    private CiphertextCodec() {}

    public static byte[] encode(CiphertextBlob blob) {
        byte[] sealed = blob.sealed();
        return ByteBuffer.allocate(HEADER_LENGTH + sealed.length)
                .put(header(blob.keyId(), blob.keyVersion(), blob.iv()))
                .put(sealed)
                .array();
    }

    /**
     * Parses a blob. Every malformed input fails with the same InvalidCiphertextException so that
     * the error says nothing about which part was wrong.
     */
    public static CiphertextBlob decode(byte[] bytes) {
        if (bytes == null || bytes.length < HEADER_LENGTH + TAG_LENGTH + 1 || bytes.length > MAX_BLOB_LENGTH
                || bytes[0] != FORMAT_V1) {
            throw invalid();
        }
        ByteBuffer in = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
        UUID keyId = new UUID(in.getLong(), in.getLong());
        int version = in.getInt();
        if (version < 1) {
            throw invalid();
        }
        byte[] iv = new byte[IV_LENGTH];
        in.get(iv);
        byte[] sealed = Arrays.copyOfRange(bytes, HEADER_LENGTH, bytes.length);
        return new CiphertextBlob(keyId, version, iv, sealed);
    }

    public static byte[] header(UUID keyId, int keyVersion, byte[] iv) {
        return ByteBuffer.allocate(HEADER_LENGTH)
                .put(FORMAT_V1)
                .putLong(keyId.getMostSignificantBits())
                .putLong(keyId.getLeastSignificantBits())
                .putInt(keyVersion)
                .put(iv)
                .array();
    }

    /** Header followed by the canonical encoding of the encryption context. */
    public static byte[] aad(byte[] header, Map<String, String> context) {
        byte[] encodedContext = EncryptionContexts.canonical(context);
        return ByteBuffer.allocate(header.length + encodedContext.length).put(header).put(encodedContext).array();
    }

    static KmsException invalid() {
        return new KmsException(ErrorReason.INVALID_CIPHERTEXT, "The ciphertext is invalid.");
    }
}
