package io.hsmkms.server.ciphertext;

import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Encryption contexts: validation and the canonical byte encoding bound into the AAD. Canonical:
 * a 4-byte pair count, then pairs sorted by key as unsigned UTF-8 bytes, each as 4-byte length +
 * key bytes + 4-byte length + value bytes. Lengths make the encoding unambiguous ("ab"="c" differs
 * from "a"="bc"); sorting makes it independent of map order.
 */
public final class EncryptionContexts {
    /** Total bytes of all keys and values (UTF-8), as AWS KMS limits it. */
    public static final int MAX_CONTEXT_BYTES = 8192;

    private EncryptionContexts() {}

    /** Rejects contexts that could not round-trip or are too large; never echoes their content. */
    public static void validate(Map<String, String> context) {
        int total = 0;
        for (Map.Entry<String, String> pair : context.entrySet()) {
            if (pair.getKey().isEmpty()) {
                throw new KmsException(ErrorReason.VALIDATION, "Encryption context keys must not be empty.");
            }
            total += strictUtf8Length(pair.getKey()) + strictUtf8Length(pair.getValue());
            if (total > MAX_CONTEXT_BYTES) {
                throw new KmsException(ErrorReason.VALIDATION,
                        "Encryption context is larger than " + MAX_CONTEXT_BYTES + " bytes.");
            }
        }
    }

    static byte[] canonical(Map<String, String> context) {
        byte[][] keys = new byte[context.size()][];
        byte[][] values = new byte[context.size()][];
        Integer[] order = new Integer[context.size()];
        int i = 0;
        for (Map.Entry<String, String> pair : context.entrySet()) {
            keys[i] = strictUtf8(pair.getKey());
            values[i] = strictUtf8(pair.getValue());
            order[i] = i;
            i++;
        }
        Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(keys[a], keys[b]));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeInt(out, context.size());
        for (int index : order) {
            writeInt(out, keys[index].length);
            out.writeBytes(keys[index]);
            writeInt(out, values[index].length);
            out.writeBytes(values[index]);
        }
        return out.toByteArray();
    }

    /**
     * UTF-8 that refuses unpaired surrogates instead of silently replacing them with '?'. Checked by hand
     * because a strict {@code CharsetEncoder} costs an encoder and two buffers per string, a dozen a call;
     * for text without unpaired surrogates {@code getBytes} gives the same bytes (EncryptionContextsTest).
     */
    static byte[] strictUtf8(String s) {
        strictUtf8Length(s);
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The length of {@link #strictUtf8}, without encoding. */
    static int strictUtf8Length(String s) {
        int length = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                length += 1;
            } else if (c < 0x800) {
                length += 2;
            } else if (!Character.isSurrogate(c)) {
                length += 3;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                length += 4;
                i++;
            } else {
                throw new KmsException(ErrorReason.VALIDATION, "Encryption context is not valid Unicode text.");
            }
        }
        return length;
    }

    private static void writeInt(ByteArrayOutputStream out, int value) {
        out.write(value >>> 24);
        out.write(value >>> 16);
        out.write(value >>> 8);
        out.write(value);
    }
}
