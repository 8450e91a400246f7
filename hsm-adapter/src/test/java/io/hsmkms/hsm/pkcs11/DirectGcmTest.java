package io.hsmkms.hsm.pkcs11;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmException.Reason;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.hsm.testing.SoftHsmToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The direct AES-GCM path against a real SoftHSM token, next to SunPKCS11's Cipher path on the same
 * token (a second adapter in this JVM, opened without the direct path).
 */
class DirectGcmTest {
    private static final byte[] AAD = new byte[116];
    private static SoftHsmToken token;
    private static SunPkcs11Hsm direct;
    private static SunPkcs11Hsm viaCipher;

    @BeforeAll
    static void openToken() {
        token = SoftHsmToken.create();
        direct = SunPkcs11Hsm.open(token.config());
        viaCipher = SunPkcs11Hsm.open(token.config(), false);
        Arrays.fill(AAD, (byte) 0x5a);
    }

    @AfterAll
    static void closeToken() {
        // Either close logs the whole process out of the token, so the order does not matter.
        if (viaCipher != null) {
            viaCipher.close();
        }
        if (direct != null) {
            direct.close();
        }
        if (token != null) {
            token.close();
        }
    }

    @Test
    void encryptAndDecrypt_goTheDirectWay_notThroughTheFallback() {
        assertThat(direct.directGcm()).as("the wrapper is reachable in the test JVM (surefire argLine)").isNotNull();
        HsmKeyRef key = direct.generateAesKey("fast/1");
        long before = direct.directGcm().operations();

        byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));
        direct.decrypt(key, iv(1), AAD, sealed);

        assertThat(direct.directGcm().operations() - before).isEqualTo(2);
        assertThat(viaCipher.directGcm()).isNull();
    }

    @Test
    void ciphertexts_areTheSameBytes_asSunPkcs11sCipher_andDecryptEitherWay() {
        HsmKeyRef key = direct.generateAesKey("compat/1");
        int n = 0;
        for (int size : new int[] {0, 32, 4096}) {
            for (byte[] aad : new byte[][] {new byte[0], AAD}) {
                byte[] iv = iv(++n);
                byte[] plaintext = bytes(size);

                byte[] fromDirect = direct.encrypt(key, iv, aad, plaintext);
                byte[] fromCipher = viaCipher.encrypt(key, iv, aad, plaintext);

                String cell = size + " B, " + aad.length + " B AAD";
                assertThat(fromDirect).as(cell).hasSize(size + 16).isEqualTo(fromCipher);
                assertThat(viaCipher.decrypt(key, iv, aad, fromDirect)).as(cell).isEqualTo(plaintext);
                assertThat(direct.decrypt(key, iv, aad, fromCipher)).as(cell).isEqualTo(plaintext);
            }
        }
    }

    @Test
    void sessionCopy_isSensitive_notExtractable_andNotATokenObject() throws Exception {
        HsmKeyRef key = direct.generateAesKey("copy/1");
        direct.encrypt(key, iv(1), AAD, bytes(32));

        boolean[] attributes = direct.directGcm().copyAttributes(key.label());

        assertThat(attributes[0]).as("CKA_SENSITIVE").isTrue();
        assertThat(attributes[1]).as("CKA_EXTRACTABLE").isFalse();
        assertThat(attributes[2]).as("CKA_TOKEN").isFalse();
        assertThat(token.pkcs11Tool("--list-objects", "--type", "secrkey").output().split("label:\\s+copy/1\\s", -1))
                .as("still one token object under the label").hasSize(2);
    }

    @Test
    void destroyKey_destroysTheCopy_andTheKeyFailsAsNotFound() {
        HsmKeyRef key = direct.generateAesKey("destroy/1");
        byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));

        direct.destroyKey(key);

        assertReason(Reason.NOT_FOUND, () -> direct.encrypt(key, iv(2), AAD, bytes(32)));
        assertReason(Reason.NOT_FOUND, () -> direct.decrypt(key, iv(1), AAD, sealed));
        assertReason(Reason.NOT_FOUND, () -> direct.directGcm().copyAttributes(key.label()));
    }

    @Test
    void keysMadeUsedAndDestroyedHere_needNoListingOfTheToken() {
        // Each listing reads every object: one per CreateKey made creating 3,000 keys take over 10 minutes.
        long listingsBefore = direct.tokenListings();

        List<HsmKeyRef> keys = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            keys.add(direct.generateAesKey("unlisted/" + i));
        }
        for (HsmKeyRef key : keys) {
            byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));
            assertThat(direct.decrypt(key, iv(1), AAD, sealed)).isEqualTo(bytes(32));
        }
        direct.destroyKey(keys.getFirst());
        assertReason(Reason.ALREADY_EXISTS, () -> direct.generateAesKey("unlisted/1"));

        assertThat(direct.tokenListings() - listingsBefore).isZero();
        assertReason(Reason.NOT_FOUND, () -> direct.encrypt(keys.getFirst(), iv(2), AAD, bytes(32)));
        assertThat(direct.listKeyLabels()).contains("unlisted/1", "unlisted/29").doesNotContain("unlisted/0");
    }

    @Test
    void listing_readsLabelsOnlyOfObjectsNotSeenBefore_andStillSeesKeysMadeAndDestroyed() {
        // SoftHSM checks an object's file on every attribute read: reading all 100,000 labels was 59 % of the
        // reconciler's run. Handles this process already knows keep their label.
        direct.listKeyLabels(); // every object on the token is known now
        direct.generateAesKey("listed/own"); // known from its generate
        SoftHsmToken.ToolResult made = token.pkcs11Tool("--keygen", "--key-type", "AES:32", "--label", "listed/neighbour");
        assertThat(made.exitCode()).as(made.output()).isZero();
        long readsBefore = direct.directGcm().labelReads();

        List<String> first = direct.listKeyLabels();

        assertThat(first).contains("listed/own", "listed/neighbour").hasSizeGreaterThan(2);
        assertThat(direct.directGcm().labelReads() - readsBefore).as("only the neighbour's label is new").isEqualTo(1);

        SoftHsmToken.ToolResult deleted = token.pkcs11Tool("--delete-object", "--type", "secrkey", "--label", "listed/neighbour");
        assertThat(deleted.exitCode()).as(deleted.output()).isZero();
        direct.destroyKey(new HsmKeyRef("listed/own"));
        long readsAfterFirst = direct.directGcm().labelReads();

        List<String> second = direct.listKeyLabels();

        List<String> expected = new ArrayList<>(first);
        expected.removeAll(List.of("listed/own", "listed/neighbour"));
        assertThat(second).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(direct.directGcm().labelReads()).isEqualTo(readsAfterFirst);
    }

    @Test
    void directlyGeneratedKey_hasTheAttributes_ofOneMadeThroughSunPkcs11() {
        direct.generateAesKey("made/direct");
        viaCipher.generateAesKey("made/provider");

        SoftHsmToken.ToolResult listing = token.pkcs11Tool("--list-objects", "--type", "secrkey");
        assertThat(listing.exitCode()).isZero();
        String madeDirect = SoftHsmToken.secretKeyBlock(listing.output(), "made/direct");
        assertThat(madeDirect).containsPattern("Access:\\s+sensitive, always sensitive, never extractable, local")
                .containsPattern("Usage:\\s+encrypt, decrypt\\s*\\n");
        assertThat(madeDirect.replace("made/direct", "LABEL"))
                .isEqualTo(SoftHsmToken.secretKeyBlock(listing.output(), "made/provider").replace("made/provider", "LABEL"));
    }

    @Test
    void manyKeys_madeElsewhere_areFoundWithOneListingOfTheToken_notOneSearchPerKey() throws Exception {
        // SoftHSM checks every object file on each search: one search per key made 1,000 keys 200x slower.
        // Made through the other adapter, so this one has never seen them (as with another node's keys).
        List<HsmKeyRef> keys = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            keys.add(viaCipher.generateAesKey("many/" + i));
        }
        long listingsBefore = direct.directGcm().tokenListings();

        for (HsmKeyRef key : keys) {
            byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));
            assertThat(direct.decrypt(key, iv(1), AAD, sealed)).isEqualTo(bytes(32));
        }

        assertThat(direct.directGcm().tokenListings() - listingsBefore).isEqualTo(1);
    }

    @Test
    void keyMadeByAnotherProcess_justBeforeOneMadeHere_isStillFound() {
        direct.listKeyLabels(); // this process has looked at the token
        SoftHsmToken.ToolResult made = token.pkcs11Tool("--keygen", "--key-type", "AES:32", "--label", "neighbour/1");
        assertThat(made.exitCode()).as(made.output()).isZero();
        // SoftHSM's own create would mark the token as seen, the neighbour's key included, had it not looked first.
        direct.generateAesKey("own-after-neighbour/1");

        // A listing searches SoftHSM's view of the token; a key missing from it stays missing however often we list.
        assertThat(direct.listKeyLabels()).contains("neighbour/1", "own-after-neighbour/1");
    }

    @Test
    void keyDestroyedByAnotherProcess_stopsWorkingWithinTwoSeconds() throws Exception {
        HsmKeyRef key = direct.generateAesKey("elsewhere/1");
        byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));
        assertThat(direct.decrypt(key, iv(1), AAD, sealed)).isEqualTo(bytes(32));

        SoftHsmToken.ToolResult deleted = token.pkcs11Tool("--delete-object", "--type", "secrkey", "--label", "elsewhere/1");
        assertThat(deleted.exitCode()).as(deleted.output()).isZero();
        long started = System.nanoTime();
        HsmException failure = null;
        while (failure == null && System.nanoTime() - started < Duration.ofSeconds(5).toNanos()) {
            try {
                direct.encrypt(key, iv(2), AAD, bytes(32));
                Thread.sleep(20);
            } catch (HsmException e) {
                failure = e;
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertThat(failure).as("still encrypting " + took + " after the object was destroyed").isNotNull();
        assertThat(failure.reason()).isEqualTo(Reason.NOT_FOUND);
        assertThat(took).isLessThan(Duration.ofSeconds(2));
        assertReason(Reason.NOT_FOUND, () -> direct.decrypt(key, iv(1), AAD, sealed));
    }

    @Test
    void wrongAad_anyFlippedBit_orTruncation_failAsData_withoutPkcs11DetailsInTheMessage() {
        HsmKeyRef key = direct.generateAesKey("tamper/1");
        byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));
        long before = direct.directGcm().operations();
        byte[] otherAad = AAD.clone();
        otherAad[115] ^= 1;

        assertReason(Reason.DATA, () -> direct.decrypt(key, iv(1), otherAad, sealed));
        assertReason(Reason.DATA, () -> direct.decrypt(key, iv(1), new byte[0], sealed));
        assertReason(Reason.DATA, () -> direct.decrypt(key, iv(2), AAD, sealed));
        assertReason(Reason.DATA, () -> direct.decrypt(key, iv(1), AAD, Arrays.copyOf(sealed, 15)));
        assertReason(Reason.DATA, () -> direct.decrypt(key, iv(1), AAD, Arrays.copyOf(sealed, sealed.length - 1)));
        for (int bit = 0; bit < sealed.length * 8; bit++) {
            byte[] tampered = sealed.clone();
            tampered[bit / 8] ^= (byte) (1 << (bit % 8));
            assertReason(Reason.DATA, () -> direct.decrypt(key, iv(1), AAD, tampered));
        }
        assertThatThrownBy(() -> direct.decrypt(key, iv(1), otherAad, sealed))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("CKR").doesNotContain("0x"));

        assertThat(direct.decrypt(key, iv(1), AAD, sealed)).as("the key still works after failures").isEqualTo(bytes(32));
        assertThat(direct.directGcm().operations() - before).as("counts successes only").isEqualTo(1);
    }

    @Test
    void failedTagChecks_keepTheirSession_andItServesTheNextCall() {
        HsmKeyRef key = direct.generateAesKey("bad-tags/1");
        byte[] sealed = direct.encrypt(key, iv(1), AAD, bytes(32));
        byte[] tampered = sealed.clone();
        tampered[0] ^= 1;
        long opened = direct.directGcm().sessionsOpened();

        for (int i = 0; i < 20; i++) {
            assertReason(Reason.DATA, () -> direct.decrypt(key, iv(1), AAD, tampered));
            // One thread: the call after a failure takes the session the failure gave back.
            assertThat(direct.decrypt(key, iv(1), AAD, sealed)).isEqualTo(bytes(32));
        }

        assertThat(direct.directGcm().sessionsOpened()).as("sessions opened for 20 failures").isEqualTo(opened);
    }

    @Test
    void eightThreads_mixingEncryptAndDecrypt_onTwoKeys_allSucceed() throws Exception {
        HsmKeyRef[] keys = {direct.generateAesKey("threads/1"), direct.generateAesKey("threads/2")};
        long before = direct.directGcm().operations();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    int failures = 0;
                    for (int i = 0; i < 200; i++) {
                        HsmKeyRef key = keys[(id + i) % 2];
                        byte[] iv = direct.generateRandom(12);
                        byte[] data = ("thread " + id + " message " + i).getBytes(StandardCharsets.UTF_8);
                        byte[] sealed = direct.encrypt(key, iv, AAD, data);
                        if (!Arrays.equals(data, direct.decrypt(key, iv, AAD, sealed))) {
                            failures++;
                        }
                    }
                    return failures;
                }));
            }
            for (Future<Integer> result : results) {
                assertThat(result.get()).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(direct.directGcm().operations() - before).isEqualTo(8 * 200 * 2);
    }


    private static void assertReason(Reason reason, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    private static byte[] iv(int n) {
        byte[] iv = new byte[12];
        iv[11] = (byte) n;
        iv[10] = (byte) (n >> 8);
        return iv;
    }

    private static byte[] bytes(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 7 + 1);
        }
        return b;
    }
}
