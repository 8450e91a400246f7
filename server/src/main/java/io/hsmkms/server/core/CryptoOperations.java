package io.hsmkms.server.core;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.server.ciphertext.CiphertextBlob;
import io.hsmkms.server.ciphertext.CiphertextCodec;
import io.hsmkms.server.ciphertext.EncryptionContexts;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The data plane. Every method validates, loads the key, checks its state, and only then calls the
 * HSM, so invalid requests never reach it.
 */
public final class CryptoOperations {
    public static final int MAX_PLAINTEXT_BYTES = 4096;
    public static final int MAX_DATA_KEY_BYTES = 1024;
    public static final int MAX_RANDOM_BYTES = 1024;

    private final Hsm hsm;
    private final KeyOperations keys;
    private final KeyNames names;

    public CryptoOperations(Hsm hsm, KeyOperations keys, KeyNames names) {
        this.hsm = hsm;
        this.keys = keys;
        this.names = names;
    }

    /** What Encrypt and the data-key calls return: the blob and the key that sealed it. */
    public record Sealed(byte[] ciphertextBlob, ManagedKey key) {}

    /** What Decrypt returns: the plaintext and the key that opened it. */
    public record Opened(byte[] plaintext, ManagedKey key) {}

    /** What ReEncrypt returns: the new blob, the key that opened the old one and the key that sealed it. */
    public record ReSealed(byte[] ciphertextBlob, ManagedKey source, ManagedKey destination) {}

    /** A fresh data key: its plaintext (the caller's to zero) and the same bytes sealed under the CMK. */
    public record DataKey(byte[] plaintext, byte[] ciphertextBlob, ManagedKey key) {}

    public Sealed encrypt(String keyId, byte[] plaintext, Map<String, String> context) {
        requireLength("Plaintext", plaintext, MAX_PLAINTEXT_BYTES);
        EncryptionContexts.validate(context);
        ManagedKey key = usableKey(names.resolve(keyId));
        return new Sealed(seal(key, plaintext, context), key);
    }

    public Opened decrypt(byte[] ciphertextBlob, Map<String, String> context, String keyId) {
        EncryptionContexts.validate(context);
        UUID expected = keyId.isEmpty() ? null : names.resolve(keyId);
        CiphertextBlob blob = CiphertextCodec.decode(ciphertextBlob);
        return open(blob, context, expected);
    }

    /** Decrypts and encrypts again inside the service: the plaintext never leaves it. */
    public ReSealed reEncrypt(byte[] ciphertextBlob, Map<String, String> sourceContext, String sourceKeyId,
                            String destinationKeyId, Map<String, String> destinationContext) {
        EncryptionContexts.validate(sourceContext);
        EncryptionContexts.validate(destinationContext);
        UUID expectedSource = sourceKeyId.isEmpty() ? null : names.resolve(sourceKeyId);
        ManagedKey destination = usableKey(names.resolve(destinationKeyId));
        CiphertextBlob blob = CiphertextCodec.decode(ciphertextBlob);
        Opened opened = open(blob, sourceContext, expectedSource);
        try {
            return new ReSealed(seal(destination, opened.plaintext(), destinationContext), opened.key(), destination);
        } finally {
            Arrays.fill(opened.plaintext(), (byte) 0);
        }
    }

    /** @param numberOfBytes the data key length, already resolved from KeySpec or NumberOfBytes */
    public DataKey generateDataKey(String keyId, int numberOfBytes, Map<String, String> context) {
        if (numberOfBytes < 1 || numberOfBytes > MAX_DATA_KEY_BYTES) {
            throw new KmsException(ErrorReason.VALIDATION, "NumberOfBytes must be between 1 and " + MAX_DATA_KEY_BYTES + ".");
        }
        EncryptionContexts.validate(context);
        ManagedKey key = usableKey(names.resolve(keyId));
        byte[] plaintext = HsmCalls.call(() -> hsm.generateRandom(numberOfBytes));
        return new DataKey(plaintext, seal(key, plaintext, context), key);
    }

    public byte[] generateRandom(int numberOfBytes) {
        if (numberOfBytes < 1 || numberOfBytes > MAX_RANDOM_BYTES) {
            throw new KmsException(ErrorReason.VALIDATION, "NumberOfBytes must be between 1 and " + MAX_RANDOM_BYTES + ".");
        }
        return HsmCalls.call(() -> hsm.generateRandom(numberOfBytes));
    }

    private byte[] seal(ManagedKey key, byte[] plaintext, Map<String, String> context) {
        KeyVersion version = key.currentVersion();
        // 96-bit IVs from the HSM's RNG: unique per encryption with overwhelming probability well
        // below 2^32 encryptions per backing version.
        byte[] iv = HsmCalls.call(() -> hsm.generateRandom(CiphertextCodec.IV_LENGTH));
        byte[] header = CiphertextCodec.header(key.id(), version.number(), iv);
        byte[] aad = CiphertextCodec.aad(header, context);
        byte[] sealed = HsmCalls.call(() -> hsm.encrypt(new HsmKeyRef(version.hsmLabel()), iv, aad, plaintext));
        return CiphertextCodec.encode(new CiphertextBlob(key.id(), version.number(), iv, sealed));
    }

    private Opened open(CiphertextBlob blob, Map<String, String> context, UUID expectedKeyId) {
        if (expectedKeyId != null && !expectedKeyId.equals(blob.keyId())) {
            throw new KmsException(ErrorReason.INCORRECT_KEY,
                    "The key named in the request is not the key that encrypted the ciphertext.");
        }
        ManagedKey key;
        try {
            key = keys.load(blob.keyId());
        } catch (KmsException e) {
            // Without a KeyId the key comes from the blob: an unknown one means the blob is bad.
            if (e.reason() == ErrorReason.NOT_FOUND && expectedKeyId == null) {
                throw invalidCiphertext();
            }
            throw e;
        }
        requireUsable(key);
        KeyVersion version = key.version(blob.keyVersion()).orElseThrow(CryptoOperations::invalidCiphertext);
        byte[] aad = CiphertextCodec.aad(CiphertextCodec.header(blob.keyId(), blob.keyVersion(), blob.iv()), context);
        try {
            return new Opened(hsm.decrypt(new HsmKeyRef(version.hsmLabel()), blob.iv(), aad, blob.sealed()), key);
        } catch (HsmException e) {
            if (e.reason() == HsmException.Reason.DATA) {
                throw invalidCiphertext();
            }
            throw HsmCalls.translate(e);
        }
    }

    private ManagedKey usableKey(UUID id) {
        ManagedKey key = keys.load(id);
        requireUsable(key);
        return key;
    }

    private void requireUsable(ManagedKey key) {
        if (key.state() == KeyState.DISABLED) {
            throw new KmsException(ErrorReason.DISABLED, "Key '" + names.arn(key.id()) + "' is disabled.");
        }
        if (key.usage() != KeyUsage.ENCRYPT_DECRYPT) {
            throw new KmsException(ErrorReason.INVALID_KEY_USAGE, "Key '" + names.arn(key.id()) + "' cannot encrypt.");
        }
    }

    private static void requireLength(String field, byte[] value, int max) {
        Objects.requireNonNull(value, field);
        if (value.length < 1 || value.length > max) {
            throw new KmsException(ErrorReason.VALIDATION, field + " must be 1 to " + max + " bytes.");
        }
    }

    private static KmsException invalidCiphertext() {
        return new KmsException(ErrorReason.INVALID_CIPHERTEXT, "The ciphertext is invalid.");
    }
}
