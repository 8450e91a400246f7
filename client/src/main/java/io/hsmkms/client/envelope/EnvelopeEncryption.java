package io.hsmkms.client.envelope;

import com.google.protobuf.ByteString;
import io.hsmkms.client.KmsClient;
import io.hsmkms.proto.v1.DecryptRequest;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import javax.crypto.spec.SecretKeySpec;

/**
 * Envelope encryption of data of any length: a data key from the service (GenerateDataKey) encrypts
 * the data locally with AES-256-GCM in authenticated frames; the envelope carries the encrypted data
 * key, the key ARN and the encryption context. Memory use is a few frames whatever the length.
 * Format: docs/envelope-format.md.
 *
 * <p>Decryption writes a frame's plaintext only after that frame authenticated, but a stream is
 * released frame by frame: until {@code decrypt} returns normally, treat what was written as
 * incomplete (it may be a truncated message). The CLI writes to a temporary file and renames it.
 *
 * <p>Thread-safe. Close it to zero the data key cache, if one was configured.
 */
public final class EnvelopeEncryption implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int IO_BUFFER = 64 << 10;

    private final KmsClient kms;
    private final int frameSize;
    private final DataKeySource dataKeys;

    private EnvelopeEncryption(Builder b) {
        this.kms = b.kms;
        this.frameSize = b.frameSize;
        DataKeySource direct = new KmsDataKeySource(b.kms);
        this.dataKeys = b.cache == null ? direct : new CachingDataKeySource(direct, b.cache, System::nanoTime);
    }

    public static Builder builder(KmsClient kms) {
        return new Builder(kms);
    }

    /** Encrypts a stream of unknown length (never served from the data key cache). */
    public EnvelopeInfo encrypt(String keyId, Map<String, String> context, InputStream in, OutputStream out) {
        return encrypt(keyId, context, in, -1, out);
    }

    /**
     * Encrypts a stream.
     *
     * @param plaintextLength the exact length, or -1 if unknown; a known length lets the cache account
     *                        bytes. A stream longer than declared fails.
     */
    public EnvelopeInfo encrypt(String keyId, Map<String, String> context, InputStream in, long plaintextLength,
                                OutputStream out) {
        SortedMap<String, String> ctx = new TreeMap<>(context);
        try (DataKey dataKey = dataKeys.dataKeyFor(keyId, ctx, plaintextLength)) {
            byte[] messageId = new byte[EnvelopeFormat.MESSAGE_ID_BYTES];
            RANDOM.nextBytes(messageId);
            InputStream source = plaintextLength < 0 ? in : new LengthCheckedInput(in, plaintextLength);
            long written = encryptWith(dataKey, messageId, frameSize, ctx, source, out);
            return EnvelopeInfo.of(dataKey.keyArn(), ctx, written);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public byte[] encrypt(String keyId, Map<String, String> context, byte[] plaintext) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(plaintext.length + 256);
        encrypt(keyId, context, new ByteArrayInputStream(plaintext), plaintext.length, out);
        return out.toByteArray();
    }

    /** Encrypts a file into another (created or replaced). */
    public EnvelopeInfo encryptFile(String keyId, Map<String, String> context, Path plaintext, Path envelope) {
        try (InputStream in = Files.newInputStream(plaintext);
             OutputStream out = new BufferedOutputStream(Files.newOutputStream(envelope), IO_BUFFER)) {
            EnvelopeInfo info = encrypt(keyId, context, in, Files.size(plaintext), out);
            out.flush();
            return info;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Decrypts an envelope, writing authenticated plaintext to {@code out} frame by frame. */
    public EnvelopeInfo decrypt(InputStream in, OutputStream out) {
        return decrypt(in, out, Map.of());
    }

    /**
     * Decrypts an envelope whose encryption context must contain every pair of {@code expectedContext};
     * checked before any plaintext is written.
     */
    public EnvelopeInfo decrypt(InputStream in, OutputStream out, Map<String, String> expectedContext) {
        return decryptWith(header -> kms.decrypt(DecryptRequest.newBuilder()
                // Naming the key makes the service refuse a blob of another key (IncorrectKeyException).
                .setKeyId(header.keyArn())
                .setCiphertextBlob(ByteString.copyFrom(header.encryptedDataKey()))
                .putAllEncryptionContext(header.context()).build()).getPlaintext().toByteArray(),
                in, out, expectedContext);
    }

    /**
     * The format's decryption with a given way to recover the data key from the header (the service,
     * or the test vector's fixed key). {@code unwrap}'s result is zeroed here.
     */
    static EnvelopeInfo decryptWith(Function<Header, byte[]> unwrap, InputStream in, OutputStream out,
                                    Map<String, String> expectedContext) {
        InputStream buffered = in instanceof BufferedInputStream || in instanceof ByteArrayInputStream
                ? in : new BufferedInputStream(in, IO_BUFFER);
        try {
            EnvelopeFormat.ParsedHeader parsed = EnvelopeFormat.readHeader(buffered);
            Header header = parsed.header();
            for (Map.Entry<String, String> e : expectedContext.entrySet()) {
                if (!e.getValue().equals(header.context().get(e.getKey()))) {
                    throw EnvelopeFormat.invalid("the encryption context lacks the expected pair for '" + e.getKey() + "'");
                }
            }
            byte[] dataKey = unwrap.apply(header);
            SecretKeySpec contentKey;
            try {
                contentKey = EnvelopeFormat.contentKey(dataKey, header.messageId());
            } finally {
                Arrays.fill(dataKey, (byte) 0);
            }
            EnvelopeFormat.verifyHeader(contentKey, parsed);
            long n = EnvelopeFormat.decryptFrames(contentKey, header.messageId(), header.frameSize(), buffered, out);
            return EnvelopeInfo.of(header.keyArn(), header.context(), n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public byte[] decrypt(byte[] envelope) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(envelope.length);
        decrypt(new ByteArrayInputStream(envelope), out);
        return out.toByteArray();
    }

    /** The format with given key material and message id: what encrypt does after choosing them (and the test vector). */
    static long encryptWith(DataKey dataKey, byte[] messageId, int frameSize, SortedMap<String, String> context,
                            InputStream in, OutputStream out) throws IOException {
        Header header = new Header(frameSize, messageId, dataKey.keyArn(), dataKey.encrypted(), context);
        SecretKeySpec contentKey = EnvelopeFormat.contentKey(dataKey.plaintext(), messageId);
        byte[] body = EnvelopeFormat.headerBody(header);
        out.write(body);
        out.write(EnvelopeFormat.headerTag(contentKey, body));
        return EnvelopeFormat.encryptFrames(contentKey, messageId, frameSize, in, out);
    }

    @Override
    public void close() {
        if (dataKeys instanceof CachingDataKeySource cache) {
            cache.close();
        }
    }

    /** Frame size (default 64 KiB) and an optional data key cache (default off). */
    public static final class Builder {
        private final KmsClient kms;
        private int frameSize = EnvelopeFormat.DEFAULT_FRAME_SIZE;
        private CachePolicy cache;

        private Builder(KmsClient kms) {
            this.kms = Objects.requireNonNull(kms);
        }

        /** Plaintext bytes per frame, 1 B..4 MiB; memory use is about three frames. */
        public Builder frameSize(int bytes) {
            if (bytes < EnvelopeFormat.MIN_FRAME_SIZE || bytes > EnvelopeFormat.MAX_FRAME_SIZE) {
                throw new IllegalArgumentException("frame size must be 1..4194304 bytes");
            }
            this.frameSize = bytes;
            return this;
        }

        /** Reuse data keys within these limits. Read {@link CachePolicy}'s security note first. */
        public Builder cache(CachePolicy policy) {
            this.cache = Objects.requireNonNull(policy);
            return this;
        }

        public EnvelopeEncryption build() {
            return new EnvelopeEncryption(this);
        }
    }

    /** Fails a stream that turns out longer than the length the cache was charged for. */
    private static final class LengthCheckedInput extends java.io.FilterInputStream {
        private long remaining;

        LengthCheckedInput(InputStream in, long declared) {
            super(in);
            this.remaining = declared;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && --remaining < 0) {
                throw new IOException("the input is longer than its declared length");
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0 && (remaining -= n) < 0) {
                throw new IOException("the input is longer than its declared length");
            }
            return n;
        }
    }
}
