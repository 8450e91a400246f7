package io.hsmkms.hsm;

import java.util.List;

/**
 * A hardware security module as the service uses it. Keys are known only by label; their bits
 * never cross this interface. Every method may throw {@link HsmException}.
 */
public interface Hsm extends AutoCloseable {

    /**
     * Generates an AES-256 key inside the token as a persistent, sensitive, non-extractable object
     * with the given label. Labels are never reused: an existing label is an error, never replaced.
     */
    HsmKeyRef generateAesKey(String label);

    /** AES-GCM with a 128-bit tag; returns ciphertext followed by the tag. */
    byte[] encrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] plaintext);

    /** Inverse of {@link #encrypt}; a wrong key, IV, AAD or any altered byte fails with reason DATA. */
    byte[] decrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] ciphertextAndTag);

    /** Bytes from the token's random number generator. */
    byte[] generateRandom(int length);

    /** Destroys the key object in the token. Irreversible. */
    void destroyKey(HsmKeyRef key);

    /** Labels of the secret keys in the token, as the token sees them now. */
    List<String> listKeyLabels();

    /** A real round trip to the token; throws when it cannot serve requests. */
    void checkHealth();

    @Override
    void close();
}
