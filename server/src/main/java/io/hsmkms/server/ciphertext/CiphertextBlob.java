package io.hsmkms.server.ciphertext;

import java.util.Arrays;
import java.util.Objects;
import java.util.UUID;

/**
 * A decoded ciphertext blob: which key and backing version sealed it, the IV, and the AES-GCM
 * output (ciphertext followed by the tag). Arrays are copied in and out.
 */
public record CiphertextBlob(UUID keyId, int keyVersion, byte[] iv, byte[] sealed) {

    public CiphertextBlob {
        Objects.requireNonNull(keyId, "keyId");
        if (keyVersion < 1) {
            throw new IllegalArgumentException("key versions start at 1");
        }
        if (iv.length != CiphertextCodec.IV_LENGTH) {
            throw new IllegalArgumentException("the IV is " + CiphertextCodec.IV_LENGTH + " bytes");
        }
        if (sealed.length <= CiphertextCodec.TAG_LENGTH) {
            throw new IllegalArgumentException("sealed data holds at least one byte and the tag");
        }
        iv = iv.clone();
        sealed = sealed.clone();
    }

    @Override
    public byte[] iv() {
        return iv.clone();
    }

    @Override
    public byte[] sealed() {
        return sealed.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CiphertextBlob other && keyId.equals(other.keyId) && keyVersion == other.keyVersion
                && Arrays.equals(iv, other.iv) && Arrays.equals(sealed, other.sealed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(keyId, keyVersion, Arrays.hashCode(iv), Arrays.hashCode(sealed));
    }

    @Override
    public String toString() {
        return "CiphertextBlob[keyId=" + keyId + ", keyVersion=" + keyVersion + ", " + sealed.length + " sealed bytes]";
    }
}
