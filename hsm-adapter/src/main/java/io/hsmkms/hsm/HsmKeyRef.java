package io.hsmkms.hsm;

import java.util.regex.Pattern;

/** The name of a key object in the token (its CKA_LABEL). Carries no key material. */
public record HsmKeyRef(String label) {
    // Printable ASCII without spaces keeps labels unambiguous in pkcs11-tool output and configs.
    private static final Pattern LABEL = Pattern.compile("[\\x21-\\x7e]{1,128}");

    public HsmKeyRef {
        if (label == null || !LABEL.matcher(label).matches()) {
            throw new IllegalArgumentException("key labels are 1..128 printable ASCII characters without spaces");
        }
    }
}
