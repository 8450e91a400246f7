package io.hsmkms.client.envelope;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HKDF-SHA256 (RFC 5869) for outputs of at most one hash length, which is all the format needs. */
final class Hkdf {
    private static final String HMAC = "HmacSHA256";

    private Hkdf() {}

    static byte[] sha256(byte[] salt, byte[] inputKey, byte[] info, int length) {
        if (length < 1 || length > 32) {
            throw new IllegalArgumentException("one HKDF-SHA256 block: 1..32 bytes");
        }
        byte[] prk = null;
        try {
            Mac extract = Mac.getInstance(HMAC);
            extract.init(new SecretKeySpec(salt, HMAC));
            prk = extract.doFinal(inputKey);
            Mac expand = Mac.getInstance(HMAC);
            expand.init(new SecretKeySpec(prk, HMAC));
            expand.update(info);
            expand.update((byte) 1);
            byte[] block = expand.doFinal();
            byte[] out = Arrays.copyOf(block, length);
            Arrays.fill(block, (byte) 0);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        } finally {
            if (prk != null) {
                Arrays.fill(prk, (byte) 0);
            }
        }
    }
}
