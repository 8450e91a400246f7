package io.hsmkms.client.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.hsmkms.client.CallCounter;
import io.hsmkms.client.KmsClient;
import io.hsmkms.client.errors.InvalidCiphertextException;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.server.testing.KmsServerExtension;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Envelopes of every interesting length through a real server and SoftHSM2 token. */
class EnvelopeRoundTripTest {
    private static final int FRAME = 1024;
    private static final int FRAME_OVERHEAD = 9 + 16;
    private static final Map<String, String> CONTEXT = Map.of("tenant", "acme", "purpose", "backup");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();
    private static final CallCounter calls = new CallCounter();
    private static KmsClient kms;
    private static EnvelopeEncryption envelopes;
    private static KeyMetadata key;

    @BeforeAll
    static void connect() {
        kms = KmsClient.builder().target("127.0.0.1:" + server.server().port()).plaintext(true).intercept(calls).build();
        envelopes = EnvelopeEncryption.builder(kms).frameSize(FRAME).build();
        key = kms.createKey(CreateKeyRequest.newBuilder().setDescription("envelopes").build());
    }

    @AfterAll
    static void close() {
        envelopes.close();
        kms.close();
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, FRAME - 1, FRAME, FRAME + 1, 2 * FRAME, 10 * FRAME + 7, 100_000})
    void roundTrip_ofEveryLength_givesTheSameBytes_inTheExpectedNumberOfFrames(int length) {
        byte[] plaintext = random(length, length);
        byte[] envelope = envelopes.encrypt(key.getKeyId(), CONTEXT, plaintext);

        assertThat(envelopes.decrypt(envelope)).isEqualTo(plaintext);
        int frames = Math.max(1, (length + FRAME - 1) / FRAME);
        int headerBytes = envelopes.encrypt(key.getKeyId(), CONTEXT, new byte[0]).length - FRAME_OVERHEAD;
        assertThat(envelope.length).as("header + %d frames", frames)
                .isEqualTo(headerBytes + frames * FRAME_OVERHEAD + length);
    }

    @Test
    void envelope_namesKeyAndContext_andHidesThePlaintext() {
        byte[] plaintext = "a secret that must not appear in the envelope".repeat(50).getBytes();
        byte[] envelope = envelopes.encrypt(key.getKeyId(), CONTEXT, plaintext);
        assertThat(new String(envelope, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain("secret");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EnvelopeInfo info = envelopes.decrypt(new ByteArrayInputStream(envelope), out, Map.of("tenant", "acme"));

        assertThat(info.keyArn()).isEqualTo(key.getArn());
        assertThat(info.context()).isEqualTo(CONTEXT);
        assertThat(info.plaintextBytes()).isEqualTo(plaintext.length);
    }

    @Test
    void expectedContextMissing_failsBeforeCallingTheService_andWritesNothing() {
        byte[] envelope = envelopes.encrypt(key.getKeyId(), CONTEXT, new byte[3000]);
        calls.reset();
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        catchThrowableOfType(InvalidCiphertextException.class,
                () -> envelopes.decrypt(new ByteArrayInputStream(envelope), out, Map.of("tenant", "other")));

        assertThat(out.size()).isZero();
        assertThat(calls.count("Decrypt")).isZero();
    }

    @Test
    void defaultFrameSize_streamsAFileOfSeveralFrames(@TempDir Path dir) throws Exception {
        byte[] plaintext = random(5 * 65536 + 123, 7);
        Path in = Files.write(dir.resolve("plain.bin"), plaintext);
        Path sealed = dir.resolve("plain.bin.hkev");
        try (EnvelopeEncryption defaults = EnvelopeEncryption.builder(kms).build()) {
            EnvelopeInfo info = defaults.encryptFile(key.getKeyId(), CONTEXT, in, sealed);
            assertThat(info.plaintextBytes()).isEqualTo(plaintext.length);

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (InputStream envelope = Files.newInputStream(sealed)) {
                defaults.decrypt(envelope, out);
            }
            assertThat(out.toByteArray()).isEqualTo(plaintext);
        }
    }

    @Test
    void everyMessage_getsItsOwnDataKey_whenTheCacheIsOff() {
        calls.reset();
        for (int i = 0; i < 5; i++) {
            envelopes.encrypt(key.getKeyId(), CONTEXT, new byte[10]);
        }
        assertThat(calls.count("GenerateDataKey")).isEqualTo(5);
    }

    static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
