package io.hsmkms.server.core;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.server.store.ConcurrentUpdateException;
import io.hsmkms.server.store.KeyRepository;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imported key material for EXTERNAL keys: GetParametersForImport, ImportKeyMaterial,
 * DeleteImportedKeyMaterial and expiry.
 *
 * <p>Where the material is in plaintext: the customer wraps it with RSA-OAEP under a wrapping key
 * whose private half is a non-extractable object in the HSM. Raw RSA decryption happens in the
 * HSM (SunPKCS11 has no OAEP); the OAEP decoding, and so the 32 bytes of key material, happen in
 * this JVM's memory for the duration of one ImportKeyMaterial call, after which every buffer is
 * zeroed and the material exists only as a sensitive, non-extractable token object. A re-import is
 * checked against the first import's key check value (AES-ECB of a zero block, computed in the HSM).
 */
public final class KeyImports {
    private static final Logger LOG = LoggerFactory.getLogger(KeyImports.class);
    public static final Duration TOKEN_VALIDITY = Duration.ofHours(24);
    private static final int AES_256_BYTES = 32;
    private static final int MAX_PENDING_TOKENS = 10_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    public enum WrappingAlgorithm {
        RSAES_OAEP_SHA_1("SHA-1"), RSAES_OAEP_SHA_256("SHA-256");

        private final String hash;

        WrappingAlgorithm(String hash) {
            this.hash = hash;
        }
    }

    /** What GetParametersForImport returns. */
    public record Parameters(ManagedKey key, byte[] importToken, byte[] publicKey, Instant validTo) {}

    private record Pending(UUID keyId, Hsm.RsaUnwrapper unwrapper, WrappingAlgorithm algorithm, Instant validTo) {}

    private final Hsm hsm;
    private final KeyRepository repository;
    private final KeyOperations keys;
    private final KeyNames names;
    private final AccessControl access;
    private final Clock clock;
    private final KeyEvents events;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();

    public KeyImports(Hsm hsm, KeyRepository repository, KeyOperations keys, KeyNames names, AccessControl access,
                      Clock clock, KeyEvents events) {
        this.events = events;
        this.hsm = hsm;
        this.repository = repository;
        this.keys = keys;
        this.names = names;
        this.access = access;
        this.clock = clock;
    }

    public Parameters parameters(Principal caller, String keyIdOrArn, WrappingAlgorithm algorithm, int keyBits) {
        ManagedKey key = keys.authorized(caller, keyIdOrArn, "kms:GetParametersForImport");
        requireExternal(key);
        requireNotLeaving(key);
        Instant now = clock.instant();
        pending.values().removeIf(p -> p.validTo().isBefore(now));
        if (pending.size() >= MAX_PENDING_TOKENS) {
            throw new KmsException(ErrorReason.THROTTLING, "Too many imports are pending; retry later.");
        }
        Hsm.RsaUnwrapper unwrapper = HsmCalls.call(() -> hsm.generateRsaUnwrapper(keyBits));
        byte[] token = new byte[32];
        RANDOM.nextBytes(token);
        Instant validTo = now.plus(TOKEN_VALIDITY).truncatedTo(ChronoUnit.SECONDS);
        pending.put(Base64.getEncoder().encodeToString(token), new Pending(key.id(), unwrapper, algorithm, validTo));
        return new Parameters(key, token, unwrapper.publicKey().getEncoded(), validTo);
    }

    /** @param validTo when the material expires, or null for material that does not expire */
    public ManagedKey importMaterial(Principal caller, String keyIdOrArn, byte[] importToken, byte[] wrapped, Instant validTo) {
        if (validTo != null && !validTo.isAfter(clock.instant())) {
            throw new KmsException(ErrorReason.VALIDATION, "ValidTo must be in the future.");
        }
        ManagedKey key = keys.authorized(caller, keyIdOrArn, "kms:ImportKeyMaterial");
        requireExternal(key);
        if (key.state() != KeyState.PENDING_IMPORT) {
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' already has key material"
                    + (key.state() == KeyState.PENDING_DELETION || key.state() == KeyState.DELETING ? " and is pending deletion." : "."));
        }
        Pending parameters = pending.remove(Base64.getEncoder().encodeToString(importToken));
        if (parameters == null || !parameters.keyId().equals(key.id()) || parameters.validTo().isBefore(clock.instant())) {
            throw new KmsException(ErrorReason.INVALID_IMPORT_TOKEN, "The import token is not valid for this key.");
        }
        byte[] material = unwrap(parameters, wrapped);
        int generation = key.imported().generation() + 1;
        // A random suffix: a failed import never records its generation, so the number alone could
        // come back, and labels are never reused.
        byte[] suffix = new byte[4];
        RANDOM.nextBytes(suffix);
        String label = KeyOperations.hsmLabel(key.id(), 1) + "/import-" + generation + "-" + HexFormat.of().formatHex(suffix);
        HsmKeyRef ref;
        try {
            ref = HsmCalls.call(() -> hsm.importAesKey(label, material));
        } finally {
            Arrays.fill(material, (byte) 0);
        }
        try {
            String kcv = HexFormat.of().formatHex(HsmCalls.call(() -> hsm.keyCheckValue(ref)), 0, 8);
            if (key.imported().keyCheckValue() != null && !key.imported().keyCheckValue().equals(kcv)) {
                throw new KmsException(ErrorReason.INCORRECT_KEY_MATERIAL,
                        "The key material is not the material this key was created with.");
            }
            KeyVersion version = new KeyVersion(1, ref.label(), clock.instant().truncatedTo(ChronoUnit.MICROS));
            return repository.update(key.withImportedMaterial(version,
                    new ManagedKey.Imported(kcv, validTo == null ? null : validTo.truncatedTo(ChronoUnit.MICROS), generation, true)));
        } catch (ConcurrentUpdateException e) {
            discard(ref);
            throw new KmsException(ErrorReason.THROTTLING, "The key is being changed concurrently; retry.");
        } catch (RuntimeException e) {
            discard(ref);
            throw e;
        }
    }

    /** Destroys the key's material now (no waiting period); the key goes back to PENDING_IMPORT. */
    public ManagedKey deleteMaterial(Principal caller, String keyIdOrArn) {
        ManagedKey key = keys.authorized(caller, keyIdOrArn, "kms:DeleteImportedKeyMaterial");
        requireExternal(key);
        if (key.state() != KeyState.ENABLED && key.state() != KeyState.DISABLED) {
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' has no key material to delete.");
        }
        return removeMaterial(key);
    }

    /** Destroys imported material whose ValidTo has passed; returns how many keys lost theirs. */
    public int expire() {
        int expired = 0;
        for (ManagedKey key : repository.importedMaterialExpired(clock.instant(), 100)) {
            try {
                ManagedKey after = removeMaterial(key);
                LOG.info("imported key material of key {} expired and was destroyed", key.id());
                events.publish(KeyEvents.MATERIAL_EXPIRED, after, Map.of());
                expired++;
            } catch (KmsException e) {
                LOG.warn("key {}: expired material not removed this time: {}", key.id(), e.reason().exceptionName());
            }
        }
        return expired;
    }

    /**
     * Metadata first (the key stops being usable), then the HSM object: a crash in between leaves
     * an object the metadata no longer needs, which the next import replaces under a new label.
     */
    private ManagedKey removeMaterial(ManagedKey key) {
        ManagedKey updated;
        try {
            updated = repository.update(key.withoutMaterial());
        } catch (ConcurrentUpdateException e) {
            throw new KmsException(ErrorReason.THROTTLING, "The key is being changed concurrently; retry.");
        }
        for (KeyVersion version : key.versions()) {
            discard(new HsmKeyRef(version.hsmLabel()));
        }
        return updated;
    }

    private byte[] unwrap(Pending parameters, byte[] wrapped) {
        int modulusBytes = (parameters.unwrapper().publicKey().getModulus().bitLength() + 7) / 8;
        if (wrapped.length != modulusBytes) {
            throw new KmsException(ErrorReason.INVALID_CIPHERTEXT, "The wrapped key material is invalid.");
        }
        byte[] em = HsmCalls.call(() -> parameters.unwrapper().rawDecrypt(wrapped));
        byte[] material;
        try {
            material = new OaepDecoder(parameters.algorithm().hash).decode(em);
        } finally {
            Arrays.fill(em, (byte) 0);
        }
        if (material == null) {
            throw new KmsException(ErrorReason.INVALID_CIPHERTEXT, "The wrapped key material is invalid.");
        }
        if (material.length != AES_256_BYTES) {
            Arrays.fill(material, (byte) 0);
            throw new KmsException(ErrorReason.INCORRECT_KEY_MATERIAL, "Key material must be 256 bits of AES key.");
        }
        return material;
    }

    private void discard(HsmKeyRef ref) {
        try {
            hsm.destroyKey(ref);
        } catch (HsmException e) {
            if (e.reason() != HsmException.Reason.NOT_FOUND) {
                LOG.warn("could not destroy HSM object {}: {}", ref.label(), e.reason());
            }
        }
    }

    private void requireExternal(ManagedKey key) {
        if (key.origin() != KeyOrigin.EXTERNAL) {
            throw new KmsException(ErrorReason.UNSUPPORTED_OPERATION,
                    "Key '" + names.arn(key) + "' was not created for imported key material (origin EXTERNAL).");
        }
    }

    private void requireNotLeaving(ManagedKey key) {
        if (key.state() == KeyState.PENDING_DELETION || key.state() == KeyState.DELETING) {
            throw new KmsException(ErrorReason.INVALID_STATE, "Key '" + names.arn(key) + "' is pending deletion.");
        }
    }
}
