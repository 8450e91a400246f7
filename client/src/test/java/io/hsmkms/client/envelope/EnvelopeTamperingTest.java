package io.hsmkms.client.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.client.KmsClient;
import io.hsmkms.client.errors.InvalidCiphertextException;
import io.hsmkms.client.errors.KmsException;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.server.testing.KmsServerExtension;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Altered envelopes fail with a typed error and release no plaintext of the bad frame: the output
 * is always exactly the frames before it.
 */
class EnvelopeTamperingTest {
    private static final int FRAME = 64;
    private static final int SEALED_FRAME = 9 + FRAME + 16;
    private static final Map<String, String> CONTEXT = Map.of("tenant", "acme");
    /** 5 regular frames and a final one of 10 bytes. */
    private static final byte[] PLAINTEXT = EnvelopeRoundTripTest.random(5 * FRAME + 10, 42);

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    private static KmsClient kms;
    private static EnvelopeEncryption envelopes;
    private static byte[] envelope;
    private static int headerBytes;
    private static String keyId;

    @BeforeAll
    static void encrypt() {
        kms = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true).build();
        envelopes = EnvelopeEncryption.builder(kms).frameSize(FRAME).build();
        keyId = kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyId();
        envelope = envelopes.encrypt(keyId, CONTEXT, PLAINTEXT);
        headerBytes = envelope.length - (5 * SEALED_FRAME + 9 + 10 + 16);
    }

    @AfterAll
    static void close() {
        envelopes.close();
        kms.close();
    }

    private record Outcome(KmsException failure, byte[] released) {}

    private static Outcome decrypt(byte[] altered) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            envelopes.decrypt(new ByteArrayInputStream(altered), out);
            return new Outcome(null, out.toByteArray());
        } catch (KmsException e) {
            return new Outcome(e, out.toByteArray());
        }
    }

    private static int frameOffset(int frame) {
        return headerBytes + (frame - 1) * SEALED_FRAME;
    }

    private static byte[] frame(int frame) {
        int from = frameOffset(frame);
        return Arrays.copyOfRange(envelope, from, Math.min(envelope.length, from + SEALED_FRAME));
    }

    /** The failure is an InvalidCiphertextException and only whole frames before {@code goodFrames} were written. */
    private static void assertRejected(byte[] altered, int goodFrames) {
        Outcome outcome = decrypt(altered);
        assertThat(outcome.failure()).isInstanceOf(InvalidCiphertextException.class);
        assertThat(outcome.released()).isEqualTo(Arrays.copyOf(PLAINTEXT, goodFrames * FRAME));
    }

    @Test
    void untouched_decrypts() {
        Outcome outcome = decrypt(envelope);
        assertThat(outcome.failure()).isNull();
        assertThat(outcome.released()).isEqualTo(PLAINTEXT);
    }

    @Test
    void truncatedAtEveryFrameBoundary_fails_releasingOnlyTheFramesBefore() {
        for (int frames = 0; frames <= 5; frames++) {
            assertRejected(Arrays.copyOf(envelope, frameOffset(frames + 1)), frames);
        }
    }

    @Test
    void truncatedAtEveryByteInsideFramesOrHeader_fails() {
        for (int length = 0; length < envelope.length; length++) {
            Outcome outcome = decrypt(Arrays.copyOf(envelope, length));
            assertThat(outcome.failure()).as("truncated to %d", length).isInstanceOf(InvalidCiphertextException.class);
            int wholeFrames = Math.max(0, Math.min(5, (length - headerBytes) / SEALED_FRAME));
            assertThat(outcome.released()).as("truncated to %d", length)
                    .isEqualTo(Arrays.copyOf(PLAINTEXT, wholeFrames * FRAME));
        }
    }

    @Test
    void reorderedDuplicatedOrDroppedFrames_fail() {
        byte[] head = Arrays.copyOf(envelope, frameOffset(2));
        assertRejected(concat(head, frame(3), frame(2), frame(4), frame(5), frame(6)), 1);
        assertRejected(concat(head, frame(2), frame(2), frame(3), frame(4), frame(5), frame(6)), 2);
        assertRejected(concat(head, frame(2), frame(4), frame(5), frame(6)), 2);
        assertRejected(concat(Arrays.copyOf(envelope, frameOffset(1)), frame(6)), 0);
    }

    @Test
    void regularFrameRelabelledFinal_fails() {
        byte[] altered = Arrays.copyOf(envelope, frameOffset(6));
        altered[frameOffset(5) + 4] = 1;
        assertRejected(altered, 4);
    }

    @Test
    void otherEncryptionContextInTheHeader_isRefusedByTheServiceItself() {
        byte[] altered = envelope.clone();
        int at = indexOf(altered, "acme".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        altered[at + 3] = 'f';  // tenant=acmf: a well-formed context, just not the one the data key is bound to

        Outcome outcome = decrypt(altered);

        assertThat(outcome.failure()).isInstanceOf(InvalidCiphertextException.class);
        assertThat(outcome.failure().requestId()).as("refused by Decrypt at the service").isNotNull();
        assertThat(outcome.released()).isEmpty();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= headerBytes; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not in the header");
    }

    @Test
    void bytesAfterTheFinalFrame_fail() {
        Outcome outcome = decrypt(concat(envelope, new byte[] {0}));
        assertThat(outcome.failure()).isInstanceOf(InvalidCiphertextException.class);
    }

    @Test
    void bitFlipInAnyHeaderByte_failsTyped_beforeAnyPlaintext() {
        for (int i = 0; i < headerBytes; i++) {
            for (int bit : new int[] {0x01, 0x80}) {
                byte[] altered = envelope.clone();
                altered[i] ^= (byte) bit;
                Outcome outcome = decrypt(altered);
                // An altered key ARN may be refused by the service for another reason first (not found...).
                assertThat(outcome.failure()).as("header byte %d", i).isInstanceOf(KmsException.class);
                assertThat(outcome.released()).as("header byte %d", i).isEmpty();
            }
        }
    }

    @Test
    void bitFlipInAnyByteOfAFrame_fails_releasingOnlyEarlierFrames() {
        for (int i = frameOffset(3); i < frameOffset(4); i++) {
            byte[] altered = envelope.clone();
            altered[i] ^= 0x04;
            assertRejected(altered, 2);
        }
    }

    @Test
    void frameFromAnotherMessageUnderTheSameKey_fails() {
        byte[] other = envelopes.encrypt(keyId, CONTEXT, PLAINTEXT);
        int otherHeader = other.length - (envelope.length - headerBytes);
        byte[] spliced = envelope.clone();
        System.arraycopy(other, otherHeader + SEALED_FRAME, spliced, frameOffset(2), SEALED_FRAME);
        assertRejected(spliced, 1);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
