package io.hsmkms.server.ciphertext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EncryptionContextsTest {

    @Test
    void validate_acceptsEmptyAndUpTo8192Bytes() {
        assertThatCode(() -> EncryptionContexts.validate(Map.of())).doesNotThrowAnyException();
        assertThatCode(() -> EncryptionContexts.validate(Map.of("k", "v".repeat(8191)))).doesNotThrowAnyException();
        assertThatCode(() -> EncryptionContexts.validate(Map.of("k", ""))).doesNotThrowAnyException();
    }

    @Test
    void validate_rejectsOversizedEmptyKeysAndBrokenUnicode_withoutEchoingValues() {
        for (Map<String, String> bad : java.util.List.of(
                Map.of("k", "v".repeat(8192)),
                Map.of("k", "é".repeat(4096)),
                Map.of("", "secret-value"),
                Map.of("k", "broken\uD800secret"))) {
            assertThatThrownBy(() -> EncryptionContexts.validate(bad))
                    .isInstanceOfSatisfying(KmsException.class, e -> org.assertj.core.api.Assertions
                            .assertThat(e.reason()).isEqualTo(ErrorReason.VALIDATION))
                    .message().doesNotContain("secret");
        }
    }

    @Test
    void strictUtf8_isTheJdksStrictEncoder_onAnyText() {
        Random random = new Random(20261206);
        int refused = 0;
        for (int n = 0; n < 50_000; n++) {
            String text = randomUtf16(random);
            byte[] expected = strictEncoder(text);
            if (expected == null) {
                refused++;
                assertThatThrownBy(() -> EncryptionContexts.strictUtf8Length(text)).isInstanceOf(KmsException.class);
                assertThatThrownBy(() -> EncryptionContexts.strictUtf8(text)).isInstanceOf(KmsException.class);
            } else {
                assertThat(EncryptionContexts.strictUtf8(text)).as("%s", text.chars().mapToObj(Integer::toHexString).toList())
                        .isEqualTo(expected);
                assertThat(EncryptionContexts.strictUtf8Length(text)).isEqualTo(expected.length);
            }
        }
        assertThat(refused).as("lone surrogates came up often enough to test").isBetween(5_000, 45_000);
    }

    /** ASCII, two- and three-byte characters, surrogate pairs, and lone or reversed surrogates at any place. */
    private static String randomUtf16(Random random) {
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(12);
        for (int i = 0; i < length; i++) {
            switch (random.nextInt(7)) {
                case 0, 1 -> text.append((char) random.nextInt(0x80));
                case 2 -> text.append((char) (0x80 + random.nextInt(0x780)));
                case 3 -> text.append((char) (0x800 + random.nextInt(0xD800 - 0x800)));
                case 4 -> text.appendCodePoint(0x10000 + random.nextInt(0x100000));
                case 5 -> text.append((char) (0xE000 + random.nextInt(0x2000)));
                default -> text.append((char) (0xD800 + random.nextInt(0x800)));
            }
        }
        return text.toString();
    }

    private static byte[] strictEncoder(String text) {
        try {
            ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(text));
            byte[] bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
            return bytes;
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
