package io.hsmkms.server.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * EME-OAEP decoding (RFC 8017, 7.1.2) of a block that raw RSA decryption produced inside the HSM
 * (SunPKCS11 has no OAEP). Constant time in the block's content: every check is folded into one
 * flag and the message position is found without branching on secret bytes, so a caller learns
 * only "valid" or "invalid" (no Manger-style oracle). MGF1 uses the same hash; the label is empty.
 */
public final class OaepDecoder {
    private final String hash;

    /** @param hash "SHA-256" or "SHA-1" */
    public OaepDecoder(String hash) {
        this.hash = hash;
    }

    /** The message, or null if the block is not a valid OAEP encoding. */
    public byte[] decode(byte[] em) {
        MessageDigest digest = digest();
        int hLen = digest.getDigestLength();
        int k = em.length;
        if (k < 2 * hLen + 2) {
            return null;
        }
        byte[] lHash = digest.digest(new byte[0]);
        byte[] maskedSeed = Arrays.copyOfRange(em, 1, 1 + hLen);
        byte[] maskedDb = Arrays.copyOfRange(em, 1 + hLen, k);
        byte[] seed = xor(maskedSeed, mgf1(maskedDb, hLen));
        byte[] db = xor(maskedDb, mgf1(seed, maskedDb.length));
        int bad = em[0] & 0xff;
        for (int i = 0; i < hLen; i++) {
            bad |= (db[i] ^ lHash[i]) & 0xff;
        }
        // Find the 0x01 after the zero padding without branching on the bytes.
        int found = 0;
        int index = 0;
        for (int i = hLen; i < db.length; i++) {
            int b = db[i] & 0xff;
            int isOne = isZero(b ^ 1);
            int isZeroByte = isZero(b);
            int first = isOne & (1 - found);
            index |= -first & i;
            // Before the 0x01 only zeros may appear.
            bad |= (1 - found) & (1 - isOne) & (1 - isZeroByte);
            found |= isOne;
        }
        bad |= 1 - found;
        Arrays.fill(seed, (byte) 0);
        if (bad != 0) {
            Arrays.fill(db, (byte) 0);
            return null;
        }
        byte[] message = Arrays.copyOfRange(db, index + 1, db.length);
        Arrays.fill(db, (byte) 0);
        return message;
    }

    private byte[] mgf1(byte[] seed, int length) {
        MessageDigest digest = digest();
        byte[] out = new byte[length];
        byte[] counter = new byte[4];
        int produced = 0;
        for (int c = 0; produced < length; c++) {
            counter[0] = (byte) (c >>> 24);
            counter[1] = (byte) (c >>> 16);
            counter[2] = (byte) (c >>> 8);
            counter[3] = (byte) c;
            digest.update(seed);
            digest.update(counter);
            byte[] block = digest.digest();
            int n = Math.min(block.length, length - produced);
            System.arraycopy(block, 0, out, produced, n);
            produced += n;
        }
        return out;
    }

    private static byte[] xor(byte[] a, byte[] b) {
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    /** 1 if x (0..255) is zero, else 0, without a branch. */
    private static int isZero(int x) {
        return ((x - 1) >>> 31) & 1;
    }

    private MessageDigest digest() {
        try {
            return MessageDigest.getInstance(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(hash, e);
        }
    }
}
