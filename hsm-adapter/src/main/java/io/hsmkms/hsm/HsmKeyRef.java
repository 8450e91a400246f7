package io.hsmkms.hsm;

/** The name of a key object in the token (its CKA_LABEL). Carries no key material. */
public record HsmKeyRef(String label) {
    private static final int MAX_LENGTH = 128;

    public HsmKeyRef {
        if (!isLabel(label)) {
            throw new IllegalArgumentException("key labels are 1..128 printable ASCII characters without spaces");
        }
    }

    /**
     * Printable ASCII without spaces keeps labels unambiguous in pkcs11-tool output and configs. A loop, not a
     * regular expression: a reference is made for every cryptographic call, and the match was 0.7 % of the server's CPU.
     */
    private static boolean isLabel(String label) {
        if (label == null || label.isEmpty() || label.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
