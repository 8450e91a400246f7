package io.hsmkms.hsm;

import java.util.List;

/**
 * A hardware security module as the service uses it. Keys are known only by label; their bits
 * never cross this interface. Every method may throw {@link HsmException}.
 */
public interface Hsm extends AutoCloseable {

    /**
     * Generates an AES-256 key inside the token as a persistent, sensitive, non-extractable object
     * with the given label. Labels are never reused: an existing label is an error, never replaced. Callers make
     * labels unique by construction (key ids, random suffixes, node ids): an adapter may check only the labels it
     * has seen, because searching the whole token on every create makes creating N keys cost N^2.
     */
    HsmKeyRef generateAesKey(String label);

    /**
     * Creates a persistent, sensitive, non-extractable AES key object from key material a customer
     * brings (imported key material). The caller zeroes {@code material} afterwards; this copy is
     * dropped as soon as the token holds it. Labels are never reused, as for generated keys.
     */
    HsmKeyRef importAesKey(String label, byte[] material);

    /** The key check value of an AES key: AES-ECB of a zero block, computed in the token. */
    byte[] keyCheckValue(HsmKeyRef key);

    /**
     * A fresh RSA key pair for wrapping key material on its way into the token. The private key is
     * a sensitive, non-extractable session object: it disappears with the returned handle.
     */
    RsaUnwrapper generateRsaUnwrapper(int bits);

    /** An RSA private key inside the token, usable only for raw RSA decryption. */
    interface RsaUnwrapper {
        java.security.interfaces.RSAPublicKey publicKey();

        /** m = c^d mod n, left-padded to the modulus length; padding is the caller's to check. */
        byte[] rawDecrypt(byte[] ciphertext);
    }

    /**
     * The ECDSA P-256 key pair under this label, created on first use: the private key is a
     * persistent, sensitive, non-extractable token object that can only sign; the public key is
     * free to publish. Used to sign audit digests, so anyone can verify them without the HSM.
     */
    Signer signer(String label);

    /** A private key inside the token that signs with SHA256withECDSA (DER-encoded signatures). */
    interface Signer {
        java.security.PublicKey publicKey();

        byte[] sign(byte[] data);
    }

    /** AES-GCM with a 128-bit tag; returns ciphertext followed by the tag. */
    byte[] encrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] plaintext);

    /** Inverse of {@link #encrypt}; a wrong key, IV, AAD or any altered byte fails with reason DATA. */
    byte[] decrypt(HsmKeyRef key, byte[] iv, byte[] aad, byte[] ciphertextAndTag);

    /**
     * Bytes from the token's random number generator. An implementation may draw them from the token in
     * blocks; each byte is then still handed out once only.
     */
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
