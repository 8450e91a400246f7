package io.hsmkms.server.ciphertext;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import java.util.Map;
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
}
