package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Against the JDK's own OAEP encryption, with raw RSA done in software (the HSM does it in production). */
class OaepDecoderTest {
    private static KeyPair rsa;

    @BeforeAll
    static void keys() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        rsa = generator.generateKeyPair();
    }

    @Test
    void decodesWhatJceEncrypted_withSha256AndSha1() throws Exception {
        byte[] material = new byte[32];
        Arrays.fill(material, (byte) 0x5a);
        material[0] = 1;

        assertThat(new OaepDecoder("SHA-256").decode(raw(wrap(material, "SHA-256", MGF1ParameterSpec.SHA256)))).isEqualTo(material);
        assertThat(new OaepDecoder("SHA-1").decode(raw(wrap(material, "SHA-1", MGF1ParameterSpec.SHA1)))).isEqualTo(material);
    }

    @Test
    void wrongHashOrAnyChangedByte_isInvalid() throws Exception {
        byte[] material = new byte[32];
        byte[] wrapped = wrap(material, "SHA-256", MGF1ParameterSpec.SHA256);

        assertThat(new OaepDecoder("SHA-1").decode(raw(wrapped))).isNull();
        byte[] em = raw(wrapped);
        for (int i = 0; i < em.length; i += 7) {
            byte[] changed = em.clone();
            changed[i] ^= 0x40;
            assertThat(new OaepDecoder("SHA-256").decode(changed)).as("byte %d", i).isNull();
        }
        assertThat(new OaepDecoder("SHA-256").decode(new byte[10])).isNull();
        assertThat(new OaepDecoder("SHA-256").decode(new byte[256])).isNull();
    }

    private static byte[] wrap(byte[] material, String hash, MGF1ParameterSpec mgf) throws Exception {
        Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPPadding");
        cipher.init(Cipher.ENCRYPT_MODE, rsa.getPublic(), new OAEPParameterSpec(hash, "MGF1", mgf, PSource.PSpecified.DEFAULT));
        return cipher.doFinal(material);
    }

    private static byte[] raw(byte[] ciphertext) {
        RSAPrivateKey key = (RSAPrivateKey) rsa.getPrivate();
        byte[] m = new BigInteger(1, ciphertext).modPow(key.getPrivateExponent(), key.getModulus()).toByteArray();
        byte[] out = new byte[256];
        int copy = Math.min(m.length, 256);
        System.arraycopy(m, m.length - copy, out, 256 - copy, copy);
        return out;
    }
}
