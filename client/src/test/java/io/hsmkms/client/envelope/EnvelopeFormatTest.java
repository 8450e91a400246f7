package io.hsmkms.client.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.client.errors.InvalidCiphertextException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The byte layout, pinned by the test vector that docs/envelope-format.md shows. No server needed. */
class EnvelopeFormatTest {
    static final HexFormat HEX = HexFormat.of();
    static final byte[] DATA_KEY = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    static final byte[] MESSAGE_ID = HEX.parseHex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f");
    static final byte[] ENCRYPTED_DATA_KEY = HEX.parseHex("e0e1e2e3e4e5e6e7");
    static final String KEY_ARN = "arn:hsmkms:kms:local:111122223333:key/11111111-2222-3333-4444-555555555555";
    static final TreeMap<String, String> CONTEXT = new TreeMap<>(Map.of("tenant", "acme", "purpose", "vector"));
    static final byte[] PLAINTEXT = "HSM-KMS envelope test vector!".getBytes(StandardCharsets.US_ASCII);
    static final int FRAME_SIZE = 16;

    /** Also printed, line for line, in docs/envelope-format.md. */
    static final String VECTOR = String.join("",
            "484b45560101",
            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
            "00000010",
            "004a61726e3a68736d6b6d733a6b6d733a6c6f63616c3a3131313132323232333333333a6b65792f31313131313131312d323232322d333333332d343434342d353535353535353535353535",
            "0008e0e1e2e3e4e5e6e7",
            "002100020007707572706f73650006766563746f72000674656e616e74000461636d65",
            "e939af0453b2638f0166a5fbe4dd08b5",
            "000000010000000010",
            "8159ad9cbd91bd98b5e3b43ee2e9ffd941385dc7bdf0a7ba52ff5b8ccd6faf37",
            "00000002010000000d",
            "db717d80fe0eaff6f0777e8c7dbf474e8fcd483cb4d0e92960c8e9214f");

    private static byte[] vector() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EnvelopeEncryption.encryptWith(new DataKey(DATA_KEY.clone(), ENCRYPTED_DATA_KEY, KEY_ARN), MESSAGE_ID,
                FRAME_SIZE, CONTEXT, new ByteArrayInputStream(PLAINTEXT), out);
        return out.toByteArray();
    }

    @Test
    void testVector_matchesTheDocumentedBytes() throws IOException {
        String hex = HEX.formatHex(vector());
        System.out.println("test vector: " + hex);
        assertThat(hex).isEqualTo(VECTOR);
        String doc = Files.readString(Path.of("..", "docs", "envelope-format.md")).replaceAll("[\\s`]", "");
        assertThat(doc).as("docs/envelope-format.md shows the vector").contains(VECTOR);
    }

    @Test
    void testVector_decryptsWithTheDataKey() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EnvelopeInfo info = EnvelopeEncryption.decryptWith(h -> DATA_KEY.clone(),
                new ByteArrayInputStream(HEX.parseHex(VECTOR)), out, Map.of("tenant", "acme"));

        assertThat(out.toByteArray()).isEqualTo(PLAINTEXT);
        assertThat(info.keyArn()).isEqualTo(KEY_ARN);
        assertThat(info.context()).isEqualTo(CONTEXT);
        assertThat(info.plaintextBytes()).isEqualTo(PLAINTEXT.length);
    }

    @Test
    void otherDataKey_failsAtTheHeader_beforeAnyPlaintext() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] wrong = DATA_KEY.clone();
        wrong[0] ^= 1;
        assertThatThrownBy(() -> EnvelopeEncryption.decryptWith(h -> wrong,
                new ByteArrayInputStream(HEX.parseHex(VECTOR)), out, Map.of()))
                .isInstanceOf(InvalidCiphertextException.class).hasMessageContaining("header");
        assertThat(out.size()).isZero();
    }

    @Test
    void hkdf_matchesRfc5869TestCase1() {
        byte[] okm = Hkdf.sha256(HEX.parseHex("000102030405060708090a0b0c"),
                HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), HEX.parseHex("f0f1f2f3f4f5f6f7f8f9"), 32);
        assertThat(HEX.formatHex(okm)).isEqualTo("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    }

    @Test
    void contextEncoding_isSortedByUtf8Bytes_andRejectsNonCanonicalOrder() {
        byte[] encoded = EnvelopeFormat.encodeContext(Map.of("b", "2", "a", "1"));
        assertThat(HEX.formatHex(encoded)).isEqualTo("0002" + "0001" + "61" + "0001" + "31" + "0001" + "62" + "0001" + "32");
        byte[] swapped = HEX.parseHex("0002" + "0001" + "62" + "0001" + "32" + "0001" + "61" + "0001" + "31");
        assertThatThrownBy(() -> EnvelopeFormat.decodeContext(swapped)).isInstanceOf(InvalidCiphertextException.class);
    }
}
