package io.hsmkms.hsm.pkcs11;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where the token is and how to log in. Built from settings (environment variables or a properties
 * file with the same names) so the PIN never has to appear on a command line.
 *
 * @param library       the PKCS#11 module (.so)
 * @param slot          the slot id, or null to use {@code slotListIndex}
 * @param slotListIndex index into the list of slots with a token (used when slot is null)
 * @param pin           where the user PIN comes from
 * @param maxConcurrency HSM operations in flight at once; keep below the token's session limit
 * @param acquireTimeout how long an operation waits for a free slot before failing as BUSY
 */
public record Pkcs11Config(
        Path library, Long slot, int slotListIndex, PinSource pin, int maxConcurrency, Duration acquireTimeout) {

    public static final String LIBRARY = "HSMKMS_PKCS11_LIBRARY";
    public static final String SLOT = "HSMKMS_PKCS11_SLOT";
    public static final String SLOT_INDEX = "HSMKMS_PKCS11_SLOT_INDEX";
    public static final String PIN_FILE = "HSMKMS_PIN_FILE";
    public static final String PIN = "HSMKMS_PIN";
    public static final String MAX_CONCURRENCY = "HSMKMS_HSM_MAX_CONCURRENCY";

    public static final Path DEFAULT_LIBRARY = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    /**
     * Every AES key object: sensitive, never extractable, encrypt and decrypt only. One list for both ways a
     * key is made: SunPKCS11's generate and import templates (config text below) and DirectGcm's C_GenerateKey.
     */
    static final List<Map.Entry<String, Boolean>> AES_KEY_FLAGS = List.of(
            Map.entry("CKA_SENSITIVE", true),
            Map.entry("CKA_EXTRACTABLE", false),
            Map.entry("CKA_ENCRYPT", true),
            Map.entry("CKA_DECRYPT", true),
            Map.entry("CKA_WRAP", false),
            Map.entry("CKA_UNWRAP", false),
            Map.entry("CKA_SIGN", false),
            Map.entry("CKA_VERIFY", false),
            Map.entry("CKA_DERIVE", false));
    private static final String AES_KEY_ATTRIBUTES = AES_KEY_FLAGS.stream()
            .map(flag -> "  " + flag.getKey() + " = " + flag.getValue())
            .collect(java.util.stream.Collectors.joining("\n", "\n", "\n"));
    public static final int DEFAULT_MAX_CONCURRENCY = 16;
    public static final Duration DEFAULT_ACQUIRE_TIMEOUT = Duration.ofSeconds(5);

    public Pkcs11Config {
        Objects.requireNonNull(library, "library");
        Objects.requireNonNull(pin, "pin");
        Objects.requireNonNull(acquireTimeout, "acquireTimeout");
        // The path is spliced into SunPKCS11's config text; refuse what could change its meaning.
        if (library.toString().chars().anyMatch(c -> c == '"' || c == '\n' || c == '\r' || c == '}' || c == '{')) {
            throw new IllegalArgumentException(LIBRARY + " contains characters that are not allowed in a path here");
        }
        if (slot != null && slot < 0) {
            throw new IllegalArgumentException(SLOT + " must not be negative");
        }
        if (slotListIndex < 0) {
            throw new IllegalArgumentException(SLOT_INDEX + " must not be negative");
        }
        if (maxConcurrency < 1) {
            throw new IllegalArgumentException(MAX_CONCURRENCY + " must be at least 1");
        }
    }

    /** Reads the settings above; the PIN from {@value #PIN_FILE} or, failing that, {@value #PIN}. */
    public static Pkcs11Config fromSettings(Map<String, String> settings) {
        String pinFile = blankToNull(settings.get(PIN_FILE));
        String pinValue = settings.get(PIN);
        PinSource pin;
        if (pinFile != null) {
            pin = new PinSource.FromFile(Path.of(pinFile));
        } else if (pinValue != null && !pinValue.isEmpty()) {
            pin = new PinSource.FromValue(pinValue.toCharArray());
        } else {
            throw new IllegalArgumentException("no token PIN configured: set " + PIN_FILE + " (preferred) or " + PIN);
        }
        String library = blankToNull(settings.get(LIBRARY));
        String slot = blankToNull(settings.get(SLOT));
        String index = blankToNull(settings.get(SLOT_INDEX));
        String concurrency = blankToNull(settings.get(MAX_CONCURRENCY));
        return new Pkcs11Config(
                library == null ? DEFAULT_LIBRARY : Path.of(library),
                slot == null ? null : parseLong(SLOT, slot),
                index == null ? 0 : (int) parseLong(SLOT_INDEX, index),
                pin,
                concurrency == null ? DEFAULT_MAX_CONCURRENCY : (int) parseLong(MAX_CONCURRENCY, concurrency),
                DEFAULT_ACQUIRE_TIMEOUT);
    }

    /** SunPKCS11 configuration text (no secrets in it). */
    String sunPkcs11ConfigText(String name) {
        String slotLine = slot != null ? "slot = " + slot : "slotListIndex = " + slotListIndex;
        // AES keys generated through this provider are born sensitive and non-extractable and can
        // only encrypt and decrypt (no wrapping other keys out); copying them into labelled token
        // objects keeps those attributes, which PKCS#11 forbids relaxing later.
        return String.join("\n",
                "name = " + name,
                "library = \"" + library + "\"",
                slotLine,
                "attributes(generate, CKO_SECRET_KEY, CKK_AES) = {" + AES_KEY_ATTRIBUTES + "}",
                // Imported key material gets the same limits; it cannot be "always sensitive" or
                // "local", which is how pkcs11-tool tells imported keys apart.
                "attributes(import, CKO_SECRET_KEY, CKK_AES) = {" + AES_KEY_ATTRIBUTES + "}",
                // Wrapping keys for imports: the private half never leaves the token.
                "attributes(generate, CKO_PRIVATE_KEY, CKK_RSA) = {",
                "  CKA_SENSITIVE = true",
                "  CKA_EXTRACTABLE = false",
                "}",
                // Audit signing keys: sign only, never leave the token.
                "attributes(generate, CKO_PRIVATE_KEY, CKK_EC) = {",
                "  CKA_SENSITIVE = true",
                "  CKA_EXTRACTABLE = false",
                "  CKA_SIGN = true",
                "  CKA_DECRYPT = false",
                "  CKA_UNWRAP = false",
                "  CKA_DERIVE = false",
                "}",
                "");
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static long parseLong(String name, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number");
        }
    }

    /** Where the user PIN comes from. {@code toString} never shows the PIN. */
    public sealed interface PinSource {
        /** A fresh copy of the PIN; the caller clears it when done. */
        char[] read();

        record FromFile(Path file) implements PinSource {
            @Override
            public char[] read() {
                try {
                    String text = Files.readString(file, StandardCharsets.UTF_8);
                    // Tolerate the trailing newline editors and `echo` add.
                    String pin = text.strip();
                    if (pin.isEmpty()) {
                        throw new IllegalArgumentException("the PIN file " + file + " is empty");
                    }
                    return pin.toCharArray();
                } catch (IOException e) {
                    throw new IllegalArgumentException("cannot read the PIN file " + file, e);
                }
            }
        }

        final class FromValue implements PinSource {
            private final char[] pin;

            public FromValue(char[] pin) {
                this.pin = pin.clone();
            }

            @Override
            public char[] read() {
                return pin.clone();
            }

            @Override
            public String toString() {
                return "PinSource[value]";
            }

            @Override
            public boolean equals(Object o) {
                return o instanceof FromValue other && Arrays.equals(pin, other.pin);
            }

            @Override
            public int hashCode() {
                return Arrays.hashCode(pin);
            }
        }
    }
}
