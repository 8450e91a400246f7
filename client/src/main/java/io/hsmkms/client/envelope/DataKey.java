package io.hsmkms.client.envelope;

import java.util.Arrays;

/**
 * A data key in plaintext and as the service's ciphertext blob, with the ARN of the key that
 * encrypted it. {@link #close()} zeroes the plaintext; toString never shows it.
 */
final class DataKey implements AutoCloseable {
    private final byte[] plaintext;
    private final byte[] encrypted;
    private final String keyArn;

    /** Takes ownership of {@code plaintext}: the caller must not keep or zero it. */
    DataKey(byte[] plaintext, byte[] encrypted, String keyArn) {
        this.plaintext = plaintext;
        this.encrypted = encrypted.clone();
        this.keyArn = keyArn;
    }

    /** The live array (not a copy): used for one key derivation, then zeroed by close(). */
    byte[] plaintext() {
        return plaintext;
    }

    byte[] encrypted() {
        return encrypted.clone();
    }

    String keyArn() {
        return keyArn;
    }

    /** An independent copy that the receiver closes; the cache hands these out so eviction can zero its own. */
    DataKey copy() {
        return new DataKey(plaintext.clone(), encrypted, keyArn);
    }

    @Override
    public void close() {
        Arrays.fill(plaintext, (byte) 0);
    }

    @Override
    public String toString() {
        return "DataKey[key=" + keyArn + ", plaintext=<hidden>]";
    }
}
