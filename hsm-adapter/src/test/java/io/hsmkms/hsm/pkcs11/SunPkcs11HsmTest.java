package io.hsmkms.hsm.pkcs11;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.hsm.testing.SoftHsmToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SunPkcs11HsmTest {
    private static final byte[] IV = new byte[12];
    private static final byte[] AAD = "header||context".getBytes(StandardCharsets.UTF_8);
    private static final byte[] PLAINTEXT = "attack at dawn".getBytes(StandardCharsets.UTF_8);

    private static SoftHsmToken token;
    private static SunPkcs11Hsm hsm;

    @BeforeAll
    static void openToken() {
        token = SoftHsmToken.create();
        hsm = SunPkcs11Hsm.open(token.config());
    }

    @AfterAll
    static void closeToken() {
        if (hsm != null) {
            hsm.close();
        }
        if (token != null) {
            token.close();
        }
    }

    @Test
    void signer_isCreatedOnce_signsVerifiably_andItsPrivateKeyNeverLeavesTheToken() throws Exception {
        io.hsmkms.hsm.Hsm.Signer first = hsm.signer("audit/signing/1");
        io.hsmkms.hsm.Hsm.Signer again = hsm.signer("audit/signing/1");
        byte[] signature = again.sign(PLAINTEXT);

        assertThat(again.publicKey().getEncoded()).isEqualTo(first.publicKey().getEncoded());
        java.security.Signature verifier = java.security.Signature.getInstance("SHA256withECDSA", "SunEC");
        verifier.initVerify(first.publicKey());
        verifier.update(PLAINTEXT);
        assertThat(verifier.verify(signature)).isTrue();
        verifier.initVerify(first.publicKey());
        verifier.update(AAD);
        assertThat(verifier.verify(signature)).as("a signature over other data").isFalse();
        assertThat(hsm.listKeyLabels()).as("not a secret key: the reconciler must not see it").doesNotContain("audit/signing/1");

        SoftHsmToken.ToolResult listing = token.pkcs11Tool("--list-objects", "--type", "privkey");
        // The KeyStore names private keys by CKA_ID (the alias bytes), not CKA_LABEL.
        String id = java.util.HexFormat.of().formatHex("audit/signing/1".getBytes(StandardCharsets.UTF_8));
        assertThat(listing.output()).contains(id);
        String object = listing.output().substring(listing.output().indexOf(id));
        assertThat(object).contains("Usage:      sign\n", "always sensitive, never extractable, local");
    }

    @Test
    void encryptThenDecrypt_withSameIvAndAad_returnsPlaintext() {
        HsmKeyRef key = hsm.generateAesKey("roundtrip/1");

        byte[] sealed = hsm.encrypt(key, IV, AAD, PLAINTEXT);

        assertThat(sealed).hasSize(PLAINTEXT.length + 16);
        assertThat(hsm.decrypt(key, IV, AAD, sealed)).isEqualTo(PLAINTEXT);
    }

    @Test
    void decrypt_withWrongAad_failsAsData() {
        HsmKeyRef key = hsm.generateAesKey("aad/1");
        byte[] sealed = hsm.encrypt(key, IV, AAD, PLAINTEXT);
        byte[] otherAad = AAD.clone();
        otherAad[0] ^= 1;

        assertThatThrownBy(() -> hsm.decrypt(key, IV, otherAad, sealed))
                .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.DATA));
    }

    @Test
    void decrypt_withAnyFlippedBit_failsAsData() {
        HsmKeyRef key = hsm.generateAesKey("flip/1");
        byte[] sealed = hsm.encrypt(key, IV, AAD, PLAINTEXT);
        for (int bit = 0; bit < sealed.length * 8; bit++) {
            byte[] tampered = sealed.clone();
            tampered[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThatThrownBy(() -> hsm.decrypt(key, IV, AAD, tampered))
                    .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.DATA));
        }
    }

    @Test
    void decrypt_underAnotherKey_failsAsData() {
        HsmKeyRef one = hsm.generateAesKey("other/1");
        HsmKeyRef two = hsm.generateAesKey("other/2");
        byte[] sealed = hsm.encrypt(one, IV, AAD, PLAINTEXT);

        assertThatThrownBy(() -> hsm.decrypt(two, IV, AAD, sealed))
                .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.DATA));
    }

    @Test
    void generateAesKey_withExistingLabel_failsAndKeepsTheOriginalKey() {
        HsmKeyRef key = hsm.generateAesKey("unique/1");
        byte[] sealed = hsm.encrypt(key, IV, AAD, PLAINTEXT);

        assertThatThrownBy(() -> hsm.generateAesKey("unique/1"))
                .isInstanceOfSatisfying(HsmException.class,
                        e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.ALREADY_EXISTS));
        assertThat(hsm.decrypt(key, IV, AAD, sealed)).isEqualTo(PLAINTEXT);
    }

    @Test
    void generatedKey_isSensitiveAndNeverExtractable_asSeenFromOutsideTheJvm() {
        hsm.generateAesKey("extract/1");

        SoftHsmToken.ToolResult listing = token.pkcs11Tool("--list-objects", "--type", "secrkey");
        assertThat(listing.exitCode()).isZero();
        String block = SoftHsmToken.secretKeyBlock(listing.output(), "extract/1");
        assertThat(block).contains("AES length 32")
                .containsPattern("Access:\\s+sensitive, always sensitive, never extractable, local")
                .containsPattern("Usage:\\s+encrypt, decrypt\\s*\\n")
                .doesNotContain("Value:");

        SoftHsmToken.ToolResult read = token.pkcs11Tool("--read-object", "--type", "secrkey", "--label", "extract/1");
        assertThat(read.exitCode()).isNotZero();
        assertThat(read.output()).contains("CKR_ATTRIBUTE_SENSITIVE");
    }

    @Test
    void destroyKey_thenEncrypt_failsAsNotFound() {
        HsmKeyRef key = hsm.generateAesKey("destroy/1");
        assertThat(hsm.listKeyLabels()).contains("destroy/1");

        hsm.destroyKey(key);

        assertThat(hsm.listKeyLabels()).doesNotContain("destroy/1");
        assertThatThrownBy(() -> hsm.encrypt(key, IV, AAD, PLAINTEXT))
                .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.NOT_FOUND));
        assertThatThrownBy(() -> hsm.destroyKey(key))
                .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.NOT_FOUND));
    }

    @Test
    void keyMadeByAnotherProcess_isFoundOnFirstUse_withOneReloadForManyConcurrentMisses() throws Exception {
        // pkcs11-tool is another process on the same token, as another node would be.
        SoftHsmToken.ToolResult made = token.pkcs11Tool("--keygen", "--key-type", "AES:32", "--label", "other-node/1",
                "--sensitive");
        assertThat(made.exitCode()).as(made.output()).isZero();
        long listingsBefore = hsm.tokenListings();
        HsmKeyRef key = new HsmKeyRef("other-node/1");

        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> hsm.encrypt(key, IV, AAD, PLAINTEXT)));
            }
            for (Future<byte[]> result : results) {
                assertThat(hsm.decrypt(key, IV, AAD, result.get())).isEqualTo(PLAINTEXT);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(hsm.tokenListings() - listingsBefore).as("single-flight: one listing served every miss").isEqualTo(1);
        hsm.encrypt(key, IV, AAD, PLAINTEXT);
        assertThat(hsm.tokenListings() - listingsBefore).as("found keys are cached").isEqualTo(1);
    }

    @Test
    void missingLabel_askedForRepeatedly_listsTheTokenOncePerMissMemory() {
        HsmKeyRef missing = new HsmKeyRef("never-made/1");
        long listingsBefore = hsm.tokenListings();

        for (int i = 0; i < 20; i++) {
            assertThatThrownBy(() -> hsm.encrypt(missing, IV, AAD, PLAINTEXT))
                    .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.NOT_FOUND));
        }

        // All 20 within the miss memory (1 s) unless the machine stalls; allow one more reload for that.
        assertThat(hsm.tokenListings() - listingsBefore).isBetween(1L, 2L);
    }

    @Test
    void unknownLabel_failsAsNotFound() {
        assertThatThrownBy(() -> hsm.decrypt(new HsmKeyRef("never/1"), IV, AAD, new byte[32]))
                .isInstanceOfSatisfying(HsmException.class, e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.NOT_FOUND));
    }

    @Test
    void generateRandom_returnsRequestedLengthAndFreshBytes() {
        byte[] a = hsm.generateRandom(32);
        byte[] b = hsm.generateRandom(32);

        assertThat(a).hasSize(32);
        assertThat(a).isNotEqualTo(b);
        assertThat(hsm.generateRandom(1)).hasSize(1);
        assertThatThrownBy(() -> hsm.generateRandom(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void smallRandomRequests_shareTokenCalls_largeOnesGoToTheTokenAlone() {
        long refillsBefore = hsm.randomRefills();
        java.util.Set<String> ivs = new java.util.HashSet<>();

        for (int i = 0; i < 1_000; i++) {
            ivs.add(java.util.HexFormat.of().formatHex(hsm.generateRandom(12)));
        }
        long refills = hsm.randomRefills() - refillsBefore;
        assertThat(hsm.generateRandom(RandomPool.MAX_REQUEST_BYTES + 1)).hasSize(RandomPool.MAX_REQUEST_BYTES + 1);

        assertThat(ivs).hasSize(1_000);
        // 341 IVs of 12 bytes to a 4 KiB block: 3 blocks, a 4th if a block grew older than a second meanwhile.
        assertThat(refills).isBetween(3L, 5L);
        assertThat(hsm.randomRefills() - refillsBefore).isEqualTo(refills);
    }

    @Test
    void keysAndCiphertexts_surviveClosingAndReopeningTheToken() {
        HsmKeyRef key = hsm.generateAesKey("reopen/1");
        byte[] sealed = hsm.encrypt(key, IV, AAD, PLAINTEXT);

        hsm.close();
        hsm = SunPkcs11Hsm.open(token.config());

        assertThat(hsm.decrypt(key, IV, AAD, sealed)).isEqualTo(PLAINTEXT);
    }

    @Test
    void manyThreads_sharingTheToken_allSucceed() throws Exception {
        HsmKeyRef key = hsm.generateAesKey("threads/1");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        byte[] iv = hsm.generateRandom(12);
                        byte[] data = ("thread " + id + " message " + i).getBytes(StandardCharsets.UTF_8);
                        byte[] sealed = hsm.encrypt(key, iv, AAD, data);
                        if (!Arrays.equals(data, hsm.decrypt(key, iv, AAD, sealed))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

}
