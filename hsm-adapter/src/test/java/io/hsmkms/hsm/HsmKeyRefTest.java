package io.hsmkms.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HsmKeyRefTest {
    @Test
    void printableAsciiWithoutSpaces_oneTo128Characters_isALabel() {
        for (String label : new String[] {"a", "!", "~", "hsmkms/1234abcd-12ab-34cd-56ef-1234567890ab/v1", "x".repeat(128)}) {
            assertThat(new HsmKeyRef(label).label()).isEqualTo(label);
        }
    }

    @Test
    void anythingElse_isRefused() {
        for (String label : new String[] {"", "x".repeat(129), "a b", "a\tb", "a\nb", "\u007f", "\u0020", "caf\u00e9",
                "key\u0000", "\u0660", "\uff41", "\ud83d\udd11"}) {
            assertThatThrownBy(() -> new HsmKeyRef(label)).as("label %s", label.codePoints().boxed().toList())
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new HsmKeyRef(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
