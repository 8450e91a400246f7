package io.hsmkms.client.envelope;

import io.grpc.Status;
import io.hsmkms.client.errors.InvalidCiphertextException;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The only code that knows the envelope's byte layout (docs/envelope-format.md, version 1):
 * header codec, content-key derivation, and the framed AES-256-GCM stream in both directions.
 */
final class EnvelopeFormat {
    static final byte[] MAGIC = {'H', 'K', 'E', 'V'};
    static final int VERSION = 1;
    /** AES-256-GCM, content key = HKDF-SHA256(data key, salt = message id), 12-byte IV, 16-byte tag. */
    static final int SUITE_AES256_GCM_HKDF_SHA256 = 1;
    static final int MESSAGE_ID_BYTES = 32;
    static final int TAG_BYTES = 16;
    static final int IV_BYTES = 12;
    static final int MIN_FRAME_SIZE = 1;
    static final int MAX_FRAME_SIZE = 4 << 20;
    static final int DEFAULT_FRAME_SIZE = 64 << 10;
    static final int MAX_KEY_ARN_BYTES = 2048;
    static final int MAX_ENCRYPTED_KEY_BYTES = 4096;
    static final int MAX_CONTEXT_BYTES = 0xFFFF;
    /** Sequence numbers are 32-bit and start at 1; 0 is the header's IV. */
    static final long MAX_FRAMES = 0xFFFF_FFFFL;
    static final int FRAME_REGULAR = 0;
    static final int FRAME_FINAL = 1;
    static final int FRAME_HEADER_BYTES = 9;
    private static final byte[] KDF_INFO = "HSMKMS envelope v1 content key".getBytes(StandardCharsets.US_ASCII);

    private EnvelopeFormat() {}

    // ------------------------------------------------------------------ header

    /** The header bytes that the header tag authenticates (everything before the tag). */
    static byte[] headerBody(Header h) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeByte(VERSION);
            out.writeByte(SUITE_AES256_GCM_HKDF_SHA256);
            out.write(h.messageId());
            out.writeInt(h.frameSize());
            byte[] arn = h.keyArn().getBytes(StandardCharsets.UTF_8);
            require(arn.length >= 1 && arn.length <= MAX_KEY_ARN_BYTES, "key ARN length");
            out.writeShort(arn.length);
            out.write(arn);
            byte[] edk = h.encryptedDataKey();
            require(edk.length >= 1 && edk.length <= MAX_ENCRYPTED_KEY_BYTES, "encrypted data key length");
            out.writeShort(edk.length);
            out.write(edk);
            byte[] context = encodeContext(h.context());
            out.writeShort(context.length);
            out.write(context);
        } catch (IOException e) {
            throw new IllegalStateException("in-memory stream", e);
        }
        return bytes.toByteArray();
    }

    /**
     * The canonical encoding of an encryption context: uint16 pair count, then per pair uint16 length +
     * UTF-8 key and uint16 length + UTF-8 value, pairs in ascending order of the keys' UTF-8 bytes.
     */
    static byte[] encodeContext(Map<String, String> context) {
        TreeMap<byte[], byte[]> sorted = new TreeMap<>(Arrays::compareUnsigned);
        for (Map.Entry<String, String> e : context.entrySet()) {
            sorted.put(e.getKey().getBytes(StandardCharsets.UTF_8), e.getValue().getBytes(StandardCharsets.UTF_8));
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            require(sorted.size() <= 0xFFFF, "too many context pairs");
            out.writeShort(sorted.size());
            for (Map.Entry<byte[], byte[]> e : sorted.entrySet()) {
                require(e.getKey().length <= 0xFFFF && e.getValue().length <= 0xFFFF, "context entry too long");
                out.writeShort(e.getKey().length);
                out.write(e.getKey());
                out.writeShort(e.getValue().length);
                out.write(e.getValue());
            }
        } catch (IOException e) {
            throw new IllegalStateException("in-memory stream", e);
        }
        byte[] encoded = bytes.toByteArray();
        require(encoded.length <= MAX_CONTEXT_BYTES, "encryption context over 65535 bytes encoded");
        return encoded;
    }

    /** Reads a header and its tag. The result is unauthenticated until {@link #verifyHeader} passes. */
    static ParsedHeader readHeader(InputStream stream) throws IOException {
        ByteArrayOutputStream seen = new ByteArrayOutputStream(256);
        DataInputStream in = new DataInputStream(new TeeInput(stream, seen));
        try {
            byte[] magic = in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw invalid("not an HSM-KMS envelope (bad magic)");
            }
            int version = in.readUnsignedByte();
            if (version != VERSION) {
                throw invalid("unsupported envelope version " + version);
            }
            int suite = in.readUnsignedByte();
            if (suite != SUITE_AES256_GCM_HKDF_SHA256) {
                throw invalid("unsupported algorithm suite " + suite);
            }
            byte[] messageId = new byte[MESSAGE_ID_BYTES];
            in.readFully(messageId);
            int frameSize = in.readInt();
            if (frameSize < MIN_FRAME_SIZE || frameSize > MAX_FRAME_SIZE) {
                throw invalid("frame size out of range");
            }
            int arnLength = in.readUnsignedShort();
            if (arnLength < 1 || arnLength > MAX_KEY_ARN_BYTES) {
                throw invalid("key ARN length out of range");
            }
            String arn = utf8(in.readNBytes(arnLength), arnLength);
            int edkLength = in.readUnsignedShort();
            if (edkLength < 1 || edkLength > MAX_ENCRYPTED_KEY_BYTES) {
                throw invalid("encrypted data key length out of range");
            }
            byte[] edk = new byte[edkLength];
            in.readFully(edk);
            int contextLength = in.readUnsignedShort();
            byte[] context = new byte[contextLength];
            in.readFully(context);
            SortedMap<String, String> parsedContext = decodeContext(context);
            byte[] body = seen.toByteArray();
            byte[] tag = new byte[TAG_BYTES];
            in.readFully(tag);
            return new ParsedHeader(new Header(frameSize, messageId, arn, edk, parsedContext), body, tag);
        } catch (EOFException e) {
            throw invalid("truncated header");
        }
    }

    static SortedMap<String, String> decodeContext(byte[] encoded) {
        ByteBuffer in = ByteBuffer.wrap(encoded);
        TreeMap<String, String> context = new TreeMap<>();
        try {
            int pairs = Short.toUnsignedInt(in.getShort());
            byte[] previous = null;
            for (int i = 0; i < pairs; i++) {
                byte[] key = new byte[Short.toUnsignedInt(in.getShort())];
                in.get(key);
                byte[] value = new byte[Short.toUnsignedInt(in.getShort())];
                in.get(value);
                // Canonical means one encoding per context: strictly ascending keys, no duplicates.
                if (previous != null && Arrays.compareUnsigned(previous, key) >= 0) {
                    throw invalid("encryption context not in canonical order");
                }
                previous = key;
                context.put(utf8(key, key.length), utf8(value, value.length));
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw invalid("truncated encryption context");
        }
        if (in.hasRemaining()) {
            throw invalid("bytes after the encryption context");
        }
        return context;
    }

    record ParsedHeader(Header header, byte[] body, byte[] tag) {}

    /** The content key for one message: HKDF-SHA256(IKM = data key, salt = message id, info = label ‖ suite). */
    static SecretKeySpec contentKey(byte[] dataKey, byte[] messageId) {
        byte[] info = Arrays.copyOf(KDF_INFO, KDF_INFO.length + 1);
        info[KDF_INFO.length] = SUITE_AES256_GCM_HKDF_SHA256;
        byte[] key = Hkdf.sha256(messageId, dataKey, info, 32);
        try {
            return new SecretKeySpec(key, "AES");
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    static byte[] headerTag(SecretKeySpec contentKey, byte[] headerBody) {
        try {
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.ENCRYPT_MODE, contentKey, new GCMParameterSpec(TAG_BYTES * 8, iv(0)));
            gcm.updateAAD(headerBody);
            return gcm.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    static void verifyHeader(SecretKeySpec contentKey, ParsedHeader parsed) {
        try {
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.DECRYPT_MODE, contentKey, new GCMParameterSpec(TAG_BYTES * 8, iv(0)));
            gcm.updateAAD(parsed.body());
            gcm.doFinal(parsed.tag());
        } catch (AEADBadTagException e) {
            throw invalid("header failed authentication");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    // ------------------------------------------------------------------ frames

    /**
     * Encrypts {@code in} to {@code out} in frames of {@code frameSize}. Reads one frame ahead so the
     * last frame (possibly empty, possibly full) is the one marked final. Memory: two frame buffers.
     *
     * @return plaintext bytes encrypted
     */
    static long encryptFrames(SecretKeySpec contentKey, byte[] messageId, int frameSize, InputStream in,
                              OutputStream out) throws IOException {
        Cipher gcm = gcm();
        byte[] current = new byte[frameSize];
        byte[] next = new byte[frameSize];
        byte[] sealed = new byte[frameSize + TAG_BYTES];
        byte[] frameHeader = new byte[FRAME_HEADER_BYTES];
        long total = 0;
        long sequence = 1;
        int n = in.readNBytes(current, 0, frameSize);
        while (true) {
            boolean last = n < frameSize;
            int nextN = 0;
            if (!last) {
                nextN = in.readNBytes(next, 0, frameSize);
                last = nextN == 0;
            }
            if (sequence > MAX_FRAMES) {
                throw new IllegalArgumentException("message too long for 2^32-1 frames of " + frameSize + " bytes");
            }
            writeFrameHeader(frameHeader, sequence, last, n);
            int sealedLength = seal(gcm, contentKey, messageId, frameHeader, sequence, current, n, sealed);
            out.write(frameHeader);
            out.write(sealed, 0, sealedLength);
            total += n;
            if (last) {
                Arrays.fill(current, (byte) 0);
                Arrays.fill(next, (byte) 0);
                return total;
            }
            byte[] swap = current;
            current = next;
            next = swap;
            n = nextN;
            sequence++;
        }
    }

    /**
     * Decrypts frames, writing each frame's plaintext only after its tag verified. Fails on a missing
     * final frame, a sequence gap, repeat or reorder, a short non-final frame, and bytes after the final frame.
     *
     * @return plaintext bytes written
     */
    static long decryptFrames(SecretKeySpec contentKey, byte[] messageId, int frameSize, InputStream stream,
                              OutputStream out) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        Cipher gcm = gcm();
        byte[] sealed = new byte[frameSize + TAG_BYTES];
        byte[] plain = new byte[frameSize];
        byte[] frameHeader = new byte[FRAME_HEADER_BYTES];
        long total = 0;
        for (long expected = 1; ; expected++) {
            if (in.readNBytes(frameHeader, 0, FRAME_HEADER_BYTES) < FRAME_HEADER_BYTES) {
                throw invalid("truncated: the final frame is missing");
            }
            ByteBuffer fh = ByteBuffer.wrap(frameHeader);
            long sequence = Integer.toUnsignedLong(fh.getInt());
            int type = fh.get();
            long length = Integer.toUnsignedLong(fh.getInt());
            if (sequence != expected) {
                throw invalid("frame out of sequence: expected " + expected + ", found " + sequence);
            }
            if (type != FRAME_REGULAR && type != FRAME_FINAL) {
                throw invalid("unknown frame type in frame " + sequence);
            }
            boolean last = type == FRAME_FINAL;
            if (last ? length > frameSize : length != frameSize) {
                throw invalid("bad length of frame " + sequence);
            }
            int sealedLength = (int) length + TAG_BYTES;
            if (in.readNBytes(sealed, 0, sealedLength) < sealedLength) {
                throw invalid("truncated inside frame " + sequence);
            }
            int n;
            try {
                gcm.init(Cipher.DECRYPT_MODE, contentKey, new GCMParameterSpec(TAG_BYTES * 8, iv(sequence)));
                gcm.updateAAD(messageId);
                gcm.updateAAD(frameHeader);
                // doFinal returns plaintext only once the tag verified: nothing unauthenticated reaches out.
                n = gcm.doFinal(sealed, 0, sealedLength, plain, 0);
            } catch (AEADBadTagException e) {
                throw invalid("frame " + sequence + " failed authentication");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is part of every JDK", e);
            }
            out.write(plain, 0, n);
            total += n;
            if (last) {
                Arrays.fill(plain, (byte) 0);
                if (in.read() != -1) {
                    throw invalid("data after the final frame");
                }
                return total;
            }
        }
    }

    private static int seal(Cipher gcm, SecretKeySpec key, byte[] messageId, byte[] frameHeader, long sequence,
                            byte[] plaintext, int length, byte[] sealed) {
        try {
            gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, iv(sequence)));
            gcm.updateAAD(messageId);
            gcm.updateAAD(frameHeader);
            return gcm.doFinal(plaintext, 0, length, sealed, 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    private static void writeFrameHeader(byte[] into, long sequence, boolean last, int length) {
        ByteBuffer.wrap(into).putInt((int) sequence).put((byte) (last ? FRAME_FINAL : FRAME_REGULAR)).putInt(length);
    }

    /** IV = 8 zero bytes ‖ uint32 sequence number; sequence 0 (all zero) is the header tag's. */
    static byte[] iv(long sequence) {
        return ByteBuffer.allocate(IV_BYTES).putLong(4, sequence).array();
    }

    private static Cipher gcm() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    private static String utf8(byte[] bytes, int expectedLength) {
        if (bytes.length != expectedLength) {
            throw invalid("truncated header");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw invalid("header text is not UTF-8");
        }
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new IllegalArgumentException(what);
        }
    }

    static InvalidCiphertextException invalid(String why) {
        // Detected here, not by the server: no request id. Same type as the server's so callers handle one.
        return new InvalidCiphertextException(Status.Code.INVALID_ARGUMENT, null, "envelope: " + why, null);
    }

    /** Copies what is read into a buffer, so the header bytes are authenticated exactly as they arrived. */
    private static final class TeeInput extends java.io.FilterInputStream {
        private final ByteArrayOutputStream copy;

        TeeInput(InputStream in, ByteArrayOutputStream copy) {
            super(in);
            this.copy = copy;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                copy.write(b);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                copy.write(b, off, n);
            }
            return n;
        }
    }
}
