package io.hsmkms.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.spec.GCMParameterSpec;

/**
 * What an application that calls the HSM directly would do, naively: SunPKCS11 on the same token,
 * an AES-256 token key made non-extractable the same way the service makes CMKs, and for every
 * message a new Cipher, an IV from the JDK's SecureRandom, updateAAD, doFinal. No gRPC, no policy,
 * no audit: the bar the service is measured against.
 */
final class JcaBaseline {
    private static final int TAG_BITS = 128;

    private final Provider provider;
    private final Key key;
    private final SecureRandom random = new SecureRandom();
    private final byte[] aad;

    JcaBaseline(Path softHsmPinFile, byte[] aad) throws Exception {
        String config = String.join("\n", "name = bench-baseline", "library = /usr/lib/softhsm/libsofthsm2.so",
                "slotListIndex = 0",
                "attributes(generate, CKO_SECRET_KEY, CKK_AES) = {",
                "  CKA_SENSITIVE = true", "  CKA_EXTRACTABLE = false", "  CKA_ENCRYPT = true", "  CKA_DECRYPT = true",
                "  CKA_WRAP = false", "  CKA_UNWRAP = false", "}", "");
        this.provider = Security.getProvider("SunPKCS11").configure("--" + config);
        char[] pin = Files.readString(softHsmPinFile, StandardCharsets.UTF_8).trim().toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS11", provider);
        store.load(null, pin);
        KeyGenerator generator = KeyGenerator.getInstance("AES", provider);
        generator.init(256);
        String label = "bench/baseline/" + Long.toHexString(random.nextLong());
        store.setEntry(label, new KeyStore.SecretKeyEntry(generator.generateKey()), null);
        this.key = store.getKey(label, null);
        this.aad = aad.clone();
    }

    byte[] encrypt(byte[] plaintext) throws Exception {
        byte[] iv = new byte[12];
        random.nextBytes(iv);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding", provider);
        cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
        cipher.updateAAD(aad);
        byte[] sealed = cipher.doFinal(plaintext);
        byte[] out = new byte[12 + sealed.length];
        System.arraycopy(iv, 0, out, 0, 12);
        System.arraycopy(sealed, 0, out, 12, sealed.length);
        return out;
    }

    byte[] decrypt(byte[] ivAndSealed) throws Exception {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding", provider);
        cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, ivAndSealed, 0, 12));
        cipher.updateAAD(aad);
        return cipher.doFinal(ivAndSealed, 12, ivAndSealed.length - 12);
    }

    /** A data key: random bytes from the token's RNG, sealed under the token key. */
    byte[] generateDataKey() throws Exception {
        byte[] dataKey = new byte[32];
        SecureRandom.getInstance("PKCS11", provider).nextBytes(dataKey);
        return encrypt(dataKey);
    }
}
