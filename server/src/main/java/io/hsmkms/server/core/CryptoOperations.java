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
 * The data plane. Every method validates, loads the key, authorizes the caller, checks the key's
 * state, and only then calls the HSM, so invalid or denied requests never reach it.
 */
public final class CryptoOperations {
    public static final int MAX_PLAINTEXT_BYTES = 4096;
    public static final int MAX_DATA_KEY_BYTES = 1024;
    public static final int MAX_RANDOM_BYTES = 1024;

    private static final String ALGORITHM = "SYMMETRIC_DEFAULT";

    private final Hsm hsm;
    private final KeyOperations keys;
    private final KeyNames names;
    private final AccessControl access;
    private final EncryptionCounter counter;
    private final KeyAvailability availability;
    private final KeyEvents events;

    public CryptoOperations(Hsm hsm, KeyOperations keys, KeyNames names, AccessControl access, EncryptionCounter counter,
                            KeyAvailability availability, KeyEvents events) {
        this.events = events;
        this.hsm = hsm;
        this.keys = keys;
        this.names = names;
        this.access = access;
        this.counter = counter;
        this.availability = availability;
    }

    /** What Encrypt and the data-key calls return: the blob and the key that sealed it. */
    public record Sealed(byte[] ciphertextBlob, ManagedKey key) {}

    /** What Decrypt returns: the plaintext and the key that opened it. */
    public record Opened(byte[] plaintext, ManagedKey key) {}

    /** What ReEncrypt returns: the new blob, the key that opened the old one and the key that sealed it. */
    public record ReSealed(byte[] ciphertextBlob, ManagedKey source, ManagedKey destination) {}

    /** A fresh data key: its plaintext (the caller's to zero) and the same bytes sealed under the CMK. */
    public record DataKey(byte[] plaintext, byte[] ciphertextBlob, ManagedKey key) {}

    public Sealed encrypt(Principal caller, String keyId, byte[] plaintext, Map<String, String> context) {
        requireLength("Plaintext", plaintext, MAX_PLAINTEXT_BYTES);
        EncryptionContexts.validate(context);
        ManagedKey key = authorizedKey(caller, keyId, "kms:Encrypt", context);
        requireUsable(caller, key, "Encrypt");
        return new Sealed(seal(key, plaintext, context), key);
    }

    public Opened decrypt(Principal caller, byte[] ciphertextBlob, Map<String, String> context, String keyId) {
        EncryptionContexts.validate(context);
        CiphertextBlob blob = CiphertextCodec.decode(ciphertextBlob);
        UUID expected = keyId.isEmpty() ? null : keys.target(caller, keyId, "kms:Decrypt").key().id();
        ManagedKey key = blobKey(caller, blob, expected, "kms:Decrypt", context);
        requireUsable(caller, key, "Decrypt");
        return open(key, blob, context);
    }

    /** Decrypts and encrypts again inside the service: the plaintext never leaves it. */
    public ReSealed reEncrypt(Principal caller, byte[] ciphertextBlob, Map<String, String> sourceContext,
                              String sourceKeyId, String destinationKeyId, Map<String, String> destinationContext) {
        EncryptionContexts.validate(sourceContext);
        EncryptionContexts.validate(destinationContext);
        CiphertextBlob blob = CiphertextCodec.decode(ciphertextBlob);
        UUID expectedSource = sourceKeyId.isEmpty() ? null : keys.target(caller, sourceKeyId, "kms:ReEncryptFrom").key().id();
        ManagedKey source = blobKey(caller, blob, expectedSource, "kms:ReEncryptFrom", sourceContext);
        ManagedKey destination = authorizedKey(caller, destinationKeyId, "kms:ReEncryptTo", destinationContext);
        requireUsable(caller, source, "ReEncrypt");
        requireUsable(caller, destination, "ReEncrypt");
        Opened opened = open(source, blob, sourceContext);
        try {
            return new ReSealed(seal(destination, opened.plaintext(), destinationContext), source, destination);
        } finally {
            Arrays.fill(opened.plaintext(), (byte) 0);
        }
    }

    /**
     * @param numberOfBytes the data key length, already resolved from KeySpec or NumberOfBytes
     * @param withPlaintext GenerateDataKey (true) or GenerateDataKeyWithoutPlaintext (false): separate permissions
     */
    public DataKey generateDataKey(Principal caller, String keyId, int numberOfBytes, Map<String, String> context,
                                   boolean withPlaintext) {
        if (numberOfBytes < 1 || numberOfBytes > MAX_DATA_KEY_BYTES) {
            throw new KmsException(ErrorReason.VALIDATION, "NumberOfBytes must be between 1 and " + MAX_DATA_KEY_BYTES + ".");
        }
        EncryptionContexts.validate(context);
        String action = withPlaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext";
        ManagedKey key = authorizedKey(caller, keyId, action, context);
        requireUsable(caller, key, withPlaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext");
        byte[] plaintext = HsmCalls.call(() -> hsm.generateRandom(numberOfBytes));
        return new DataKey(plaintext, seal(key, plaintext, context), key);
    }

    public byte[] generateRandom(Principal caller, int numberOfBytes) {
        if (numberOfBytes < 1 || numberOfBytes > MAX_RANDOM_BYTES) {
            throw new KmsException(ErrorReason.VALIDATION, "NumberOfBytes must be between 1 and " + MAX_RANDOM_BYTES + ".");
        }
        access.requireAccountAction(caller, "kms:GenerateRandom", c -> { });
        return HsmCalls.call(() -> hsm.generateRandom(numberOfBytes));
    }

    /** Resolves a key id, key ARN, alias name or alias ARN and authorizes the action on that key. */
    private ManagedKey authorizedKey(Principal caller, String keyId, String action, Map<String, String> context) {
        KeyOperations.Target target = keys.target(caller, keyId, action);
        access.requireKeyAction(caller, action, target.key(), context,
                KeyOperations.requestAlias(target).andThen(c -> c.put("kms:EncryptionAlgorithm", ALGORITHM)));
        return target.key();
    }

    private void authorize(Principal caller, String action, ManagedKey key, Map<String, String> context) {
        access.requireKeyAction(caller, action, key, context, c -> c.put("kms:EncryptionAlgorithm", ALGORITHM));
    }

    /**
     * The key named inside a blob, authorized for the caller. An unknown key (or one in an account
     * other than the one a given KeyId names) means a bad blob: no oracle for which keys exist.
     */
    private ManagedKey blobKey(Principal caller, CiphertextBlob blob, UUID expectedKeyId, String action,
                               Map<String, String> context) {
        if (expectedKeyId != null && !expectedKeyId.equals(blob.keyId())) {
            throw new KmsException(ErrorReason.INCORRECT_KEY,
                    "The key named in the request is not the key that encrypted the ciphertext.");
        }
        ManagedKey key = keys.findById(blob.keyId()).orElseThrow(CryptoOperations::invalidCiphertext);
        CallNotes.key(key, names.arn(key));
        authorize(caller, action, key, context);
        return key;
    }

    private byte[] seal(ManagedKey key, byte[] plaintext, Map<String, String> context) {
        KeyVersion version = key.currentVersion();
        CallNotes.version(key, version.number());
        // 96-bit IVs from the HSM's RNG: unique per encryption with overwhelming probability well
        // below 2^32 encryptions per backing version.
        byte[] iv = HsmCalls.call(() -> hsm.generateRandom(CiphertextCodec.IV_LENGTH));
        byte[] header = CiphertextCodec.header(key.id(), version.number(), iv);
        byte[] aad = CiphertextCodec.aad(header, context);
        byte[] sealed;
        try {
            sealed = hsm.encrypt(new HsmKeyRef(version.hsmLabel()), iv, aad, plaintext);
        } catch (HsmException e) {
            throw failure(key, version, e);
        }
        availability.served(version.hsmLabel());
        counter.record(key.id(), version.number());
        return CiphertextCodec.encode(new CiphertextBlob(key.id(), version.number(), iv, sealed));
    }

    private Opened open(ManagedKey key, CiphertextBlob blob, Map<String, String> context) {
        KeyVersion version = key.version(blob.keyVersion()).orElseThrow(CryptoOperations::invalidCiphertext);
        CallNotes.version(key, version.number());
        byte[] aad = CiphertextCodec.aad(CiphertextCodec.header(blob.keyId(), blob.keyVersion(), blob.iv()), context);
        byte[] plaintext;
        try {
            plaintext = hsm.decrypt(new HsmKeyRef(version.hsmLabel()), blob.iv(), aad, blob.sealed());
        } catch (HsmException e) {
            if (e.reason() == HsmException.Reason.DATA) {
                throw invalidCiphertext();
            }
            throw failure(key, version, e);
        }
        availability.served(version.hsmLabel());
        return new Opened(plaintext, key);
    }

    /** A version the metadata names but the HSM does not have makes the key Unavailable, not the caller wrong. */
    private KmsException failure(ManagedKey key, KeyVersion version, HsmException e) {
        if (e.reason() == HsmException.Reason.NOT_FOUND) {
            availability.missing(version.hsmLabel());
            return new KmsException(ErrorReason.KEY_UNAVAILABLE,
                    "Key '" + names.arn(key) + "' is unavailable: the HSM cannot serve its key material.");
        }
        return HsmCalls.translate(e);
    }

    private void requireUsable(Principal caller, ManagedKey key, String operation) {
        if (key.state() == KeyState.PENDING_IMPORT) {
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' has no key material.");
        }
        if (key.state() == KeyState.PENDING_DELETION || key.state() == KeyState.DELETING) {
            // The seeds' alarm: someone still depends on a key about to be destroyed.
            events.publish(KeyEvents.USED_WHILE_PENDING_DELETION, key, Map.of("operation", operation,
                    "principal", caller.arn()));
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' is pending deletion.");
        }
        if (key.state() == KeyState.DISABLED) {
            throw new KmsException(ErrorReason.DISABLED, "Key '" + names.arn(key) + "' is disabled.");
        }
        if (key.usage() != KeyUsage.ENCRYPT_DECRYPT) {
            throw new KmsException(ErrorReason.INVALID_KEY_USAGE, "Key '" + names.arn(key) + "' cannot encrypt.");
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
