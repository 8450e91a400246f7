package io.hsmkms.hsm.pkcs11;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Pkcs11ConfigTest {

    @Test
    void fromSettings_readsPinFromFileAndStripsTrailingNewline(@TempDir Path dir) throws Exception {
        Path pinFile = dir.resolve("pin");
        Files.writeString(pinFile, "s3cret\n");

        Pkcs11Config config = Pkcs11Config.fromSettings(Map.of(Pkcs11Config.PIN_FILE, pinFile.toString(),
                Pkcs11Config.SLOT, "1234"));

        assertThat(config.pin().read()).containsExactly('s', '3', 'c', 'r', 'e', 't');
        assertThat(config.slot()).isEqualTo(1234L);
        assertThat(config.library()).isEqualTo(Pkcs11Config.DEFAULT_LIBRARY);
        assertThat(config.sunPkcs11ConfigText("x")).contains("slot = 1234").doesNotContain("s3cret");
    }

    @Test
    void fromSettings_withPinValue_neverShowsItInToString() {
        Pkcs11Config config = Pkcs11Config.fromSettings(Map.of(Pkcs11Config.PIN, "hunter22"));

        assertThat(config.toString()).doesNotContain("hunter22");
        assertThat(config.sunPkcs11ConfigText("x")).contains("slotListIndex = 0").doesNotContain("hunter22");
        assertThat(new String(config.pin().read())).isEqualTo("hunter22");
    }

    @Test
    void fromSettings_withoutPin_failsNamingTheSettings() {
        assertThatThrownBy(() -> Pkcs11Config.fromSettings(Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(Pkcs11Config.PIN_FILE);
    }

    @Test
    void fromSettings_withNonNumericSlot_failsClearly() {
        assertThatThrownBy(() -> Pkcs11Config.fromSettings(Map.of(Pkcs11Config.PIN, "x", Pkcs11Config.SLOT, "one")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(Pkcs11Config.SLOT);
    }

    @Test
    void libraryPath_thatCouldInjectConfiguration_isRejected() {
        assertThatThrownBy(() -> Pkcs11Config.fromSettings(Map.of(Pkcs11Config.PIN, "x",
                Pkcs11Config.LIBRARY, "/lib/x.so\"\nattributes = {")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void emptyPinFile_isRejected(@TempDir Path dir) throws Exception {
        Path pinFile = dir.resolve("pin");
        Files.writeString(pinFile, "\n");
        Pkcs11Config config = Pkcs11Config.fromSettings(Map.of(Pkcs11Config.PIN_FILE, pinFile.toString()));

        assertThatThrownBy(() -> config.pin().read()).isInstanceOf(IllegalArgumentException.class);
    }
}
