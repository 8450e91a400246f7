package io.hsmkms.server.audit;

import java.util.Arrays;

/**
 * JSON written straight into UTF-8 bytes, for the audit trail's lines. The output is byte for byte
 * what Jackson's generator writes by default and {@code String.getBytes(UTF_8)} then encodes, the
 * format of every trail so far (AuditTrailLineFormatTest compares the two): {@code "} and
 * {@code \} escaped, control characters as {@code \b \t \n \f \r} or {@code \}{@code u00XX},
 * everything else as it is, an unpaired surrogate as {@code ?}. Writing bytes once replaces a
 * generator, a string buffer and three copies of every line (String, bytes, batch).
 *
 * <p>Not thread-safe; one per line or batch being built.
 */
final class JsonBytes {
    private static final byte[] HEX_UPPER = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** For ASCII: 0 = as is, else the letter of its short escape, or 'u' for a six-character escape. */
    private static final byte[] ESCAPE = new byte[128];

    static {
        for (int c = 0; c < 0x20; c++) {
            ESCAPE[c] = 'u';
        }
        ESCAPE['"'] = '"';
        ESCAPE['\\'] = '\\';
        ESCAPE['\b'] = 'b';
        ESCAPE['\t'] = 't';
        ESCAPE['\n'] = 'n';
        ESCAPE['\f'] = 'f';
        ESCAPE['\r'] = 'r';
    }

    private byte[] buf;
    private int length;
    private int depth;
    /** Bit d set: the container at depth d already holds a member, so the next one needs a comma. */
    private long filled;
    private boolean afterName;

    JsonBytes(int capacity) {
        buf = new byte[capacity];
    }

    int length() {
        return length;
    }

    /** The buffer itself: valid up to {@link #length()}, overwritten by the next write after {@link #reset()}. */
    byte[] buffer() {
        return buf;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, length);
    }

    void reset() {
        length = 0;
        depth = 0;
        filled = 0;
        afterName = false;
    }

    JsonBytes startObject() {
        return open('{');
    }

    JsonBytes endObject() {
        return close('}');
    }

    JsonBytes startArray() {
        return open('[');
    }

    JsonBytes endArray() {
        return close(']');
    }

    JsonBytes name(String name) {
        beforeValue();
        quoted(name);
        put((byte) ':');
        afterName = true;
        return this;
    }

    JsonBytes string(String value) {
        beforeValue();
        quoted(value);
        return this;
    }

    JsonBytes number(long value) {
        beforeValue();
        ascii(Long.toString(value));
        return this;
    }

    JsonBytes nullValue() {
        beforeValue();
        ascii("null");
        return this;
    }

    /** The members of {@code object}, a JSON object written by another JsonBytes, added to the open object. */
    JsonBytes members(byte[] object) {
        if (object.length <= 2) {
            return this; // {}
        }
        beforeValue();
        int n = object.length - 2;
        ensure(n);
        System.arraycopy(object, 1, buf, length, n);
        length += n;
        return this;
    }

    /** One character outside any value, such as the newline after a line. */
    JsonBytes raw(char asciiChar) {
        put((byte) asciiChar);
        return this;
    }

    private JsonBytes open(char bracket) {
        beforeValue();
        put((byte) bracket);
        depth++;
        if (depth >= Long.SIZE) {
            throw new IllegalStateException("JSON nested too deep for an audit record");
        }
        filled &= ~(1L << depth);
        return this;
    }

    private JsonBytes close(char bracket) {
        depth--;
        put((byte) bracket);
        return this;
    }

    private void beforeValue() {
        if (afterName) {
            afterName = false;
            return;
        }
        long bit = 1L << depth;
        if (depth > 0 && (filled & bit) != 0) {
            put((byte) ',');
        }
        filled |= bit;
    }

    private void quoted(String text) {
        int n = text.length();
        ensure(n + 2);
        put((byte) '"');
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (length + 6 > buf.length) {
                ensure(6 + n - i); // this char at its widest (an escape), the rest at one byte each
            }
            if (c < 0x80) {
                byte escape = ESCAPE[c];
                if (escape == 0) {
                    buf[length++] = (byte) c;
                } else {
                    escaped(c, escape);
                }
            } else if (c < 0x800) {
                buf[length++] = (byte) (0xC0 | (c >> 6));
                buf[length++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, text.charAt(++i));
                buf[length++] = (byte) (0xF0 | (cp >> 18));
                buf[length++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                buf[length++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                buf[length++] = (byte) (0x80 | (cp & 0x3F));
            } else if (Character.isSurrogate(c)) {
                buf[length++] = '?'; // what String.getBytes(UTF_8) has always made of it
            } else {
                buf[length++] = (byte) (0xE0 | (c >> 12));
                buf[length++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                buf[length++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        put((byte) '"');
    }

    private void escaped(char c, byte escape) {
        buf[length++] = '\\';
        if (escape != 'u') {
            buf[length++] = escape;
            return;
        }
        buf[length++] = 'u';
        buf[length++] = '0';
        buf[length++] = '0';
        buf[length++] = HEX_UPPER[c >> 4];
        buf[length++] = HEX_UPPER[c & 0xF];
    }

    private void ascii(String text) {
        int n = text.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            buf[length++] = (byte) text.charAt(i);
        }
    }

    private void put(byte b) {
        ensure(1);
        buf[length++] = b;
    }

    private void ensure(int more) {
        if (length + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, length + more));
        }
    }
}
