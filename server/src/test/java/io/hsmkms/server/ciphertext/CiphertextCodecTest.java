package io.hsmkms.server.ciphertext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class CiphertextCodecTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final UUID KEY = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
    private static final byte[] IV = HEX.parseHex("000102030405060708090a0b");
    private static final byte[] SEALED = filled(17, 0xAA);

    @Test
    void encode_matchesTheDocumentedTestVector() {
        byte[] blob = CiphertextCodec.encode(new CiphertextBlob(KEY, 7, IV, SEALED));

        assertThat(HEX.formatHex(blob)).isEqualTo("01" + "00112233445566778899aabbccddeeff" + "00000007"
                + "000102030405060708090a0b" + "aa".repeat(17));
    }

    @Test
    void aad_matchesTheDocumentedTestVector() {
        byte[] header = CiphertextCodec.header(KEY, 7, IV);
        Map<String, String> context = new LinkedHashMap<>();
        context.put("purpose", "test");
        context.put("a", "1");

        assertThat(HEX.formatHex(CiphertextCodec.aad(header, context))).isEqualTo(HEX.formatHex(header)
                + "00000002" + "00000001" + "61" + "00000001" + "31"
                + "00000007" + "707572706f7365" + "00000004" + "74657374");
    }

    @Test
    void header_isTheFirst33BytesOfTheBlob() {
        byte[] blob = CiphertextCodec.encode(new CiphertextBlob(KEY, 7, IV, SEALED));

        assertThat(CiphertextCodec.header(KEY, 7, IV)).isEqualTo(Arrays.copyOf(blob, CiphertextCodec.HEADER_LENGTH));
        assertThat(CiphertextCodec.HEADER_LENGTH).isEqualTo(33);
    }

    @Test
    void decode_reversesEncode() {
        CiphertextBlob original = new CiphertextBlob(KEY, 7, IV, SEALED);

        CiphertextBlob decoded = CiphertextCodec.decode(CiphertextCodec.encode(original));

        assertThat(decoded).isEqualTo(original);
        assertThat(decoded.keyId()).isEqualTo(KEY);
        assertThat(decoded.keyVersion()).isEqualTo(7);
        assertThat(decoded.iv()).isEqualTo(IV);
        assertThat(decoded.sealed()).isEqualTo(SEALED);
    }

    @Test
    void aad_ignoresMapOrder_butNotContent() {
        byte[] header = CiphertextCodec.header(KEY, 1, IV);
        Map<String, String> forward = new LinkedHashMap<>();
        forward.put("a", "1");
        forward.put("b", "2");
        forward.put("é", "3");
        Map<String, String> backward = new LinkedHashMap<>();
        backward.put("é", "3");
        backward.put("b", "2");
        backward.put("a", "1");

        byte[] expected = CiphertextCodec.aad(header, forward);
        assertThat(CiphertextCodec.aad(header, backward)).isEqualTo(expected);
        assertThat(CiphertextCodec.aad(header, new TreeMap<>(forward))).isEqualTo(expected);
        assertThat(CiphertextCodec.aad(header, Map.of("a", "1", "b", "2", "é", "4"))).isNotEqualTo(expected);
        assertThat(CiphertextCodec.aad(header, Map.of("ab", "c"))).isNotEqualTo(CiphertextCodec.aad(header, Map.of("a", "bc")));
        assertThat(CiphertextCodec.aad(header, Map.of())).isNotEqualTo(CiphertextCodec.aad(header, Map.of("", "")));
        assertThat(HEX.formatHex(CiphertextCodec.aad(header, Map.of()))).isEqualTo(HEX.formatHex(header) + "00000000");
    }

    @Test
    void aad_sortsKeysAsUtf8Bytes() {
        byte[] header = CiphertextCodec.header(KEY, 1, IV);
        // U+1F600 is a surrogate pair (d83d de00) that sorts before U+FF21 as Java chars; pin the UTF-8
        // byte order instead, which is what clients in other languages will implement.
        Map<String, String> context = new LinkedHashMap<>();
        context.put("\uD83D\uDE00", "emoji");
        context.put("\uFF21", "fullwidth A");
        byte[] aad = CiphertextCodec.aad(header, context);
        String hex = HEX.formatHex(aad).substring(CiphertextCodec.HEADER_LENGTH * 2);

        // UTF-8: U+FF21 = ef bc a1, U+1F600 = f0 9f 98 80; ef < f0, so U+FF21 comes first.
        assertThat(hex).startsWith("00000002" + "00000003" + "efbca1");
    }

    @Test
    void decode_rejectsEveryMalformedInputWithTheSameError() {
        byte[] valid = CiphertextCodec.encode(new CiphertextBlob(KEY, 7, IV, SEALED));
        byte[] wrongFormat = valid.clone();
        wrongFormat[0] = 0x02;
        byte[] versionZero = valid.clone();
        Arrays.fill(versionZero, 17, 21, (byte) 0);
        byte[] negativeVersion = valid.clone();
        Arrays.fill(negativeVersion, 17, 21, (byte) 0xFF);

        for (byte[] bad : new byte[][] {null, new byte[0], Arrays.copyOf(valid, 49), wrongFormat, versionZero,
                negativeVersion, new byte[6145]}) {
            assertThatThrownBy(() -> CiphertextCodec.decode(bad))
                    .isInstanceOfSatisfying(KmsException.class,
                            e -> assertThat(e.reason()).isEqualTo(ErrorReason.INVALID_CIPHERTEXT))
                    .hasMessage("The ciphertext is invalid.");
        }
        assertThat(CiphertextCodec.decode(Arrays.copyOf(valid, 50)).sealed()).hasSize(17);
    }

    @Test
    void blob_copiesItsArrays() {
        byte[] iv = IV.clone();
        CiphertextBlob blob = new CiphertextBlob(KEY, 1, iv, SEALED);
        iv[0] = 9;
        blob.iv()[1] = 9;

        assertThat(blob.iv()).isEqualTo(IV);
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
