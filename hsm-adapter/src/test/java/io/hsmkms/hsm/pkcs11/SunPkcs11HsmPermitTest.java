package io.hsmkms.hsm.pkcs11;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.hsm.testing.SoftHsmToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The permits that bound token sessions are not held while waiting for the adapter's lock. Before, 15 creates
 * waiting behind one long listing held 15 of 16 permits, and the health probe got none (100,000-key run).
 */
class SunPkcs11HsmPermitTest {
    private static final byte[] IV = new byte[12];
    private static final byte[] AAD = "aad".getBytes(StandardCharsets.UTF_8);
    private static final byte[] PLAINTEXT = "permits".getBytes(StandardCharsets.UTF_8);

    private static SoftHsmToken token;
    private static SunPkcs11Hsm hsm;

    @BeforeAll
    static void openToken() {
        token = SoftHsmToken.create();
        Pkcs11Config base = token.config();
        // Two permits, 20 ms to get one.
        hsm = SunPkcs11Hsm.open(new Pkcs11Config(base.library(), base.slot(), base.slotListIndex(), base.pin(), 2,
                Duration.ofMillis(20)));
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
    void aCallWaitingForTheLock_holdsNoPermit_soACallOnAKnownKeyStillGetsOne() throws Exception {
        HsmKeyRef key = hsm.generateAesKey("known/1");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            // Warm: the timing below is in tens of milliseconds, less than loading the classes takes.
            java.util.List<java.util.concurrent.Callable<Throwable>> warmUp = java.util.List.of(
                    () -> catchThrowable(() -> hsm.encrypt(new HsmKeyRef("warm/1"), IV, AAD, PLAINTEXT)),
                    () -> catchThrowable(() -> hsm.encrypt(key, IV, AAD, PLAINTEXT)));
            for (Future<Throwable> warm : pool.invokeAll(warmUp)) {
                warm.get();
            }

            // A label nobody made is listed, then listed again 50 ms later, under the lock, holding a permit.
            Future<Throwable> first = pool.submit(() -> catchThrowable(
                    () -> hsm.encrypt(new HsmKeyRef("missing/1"), IV, AAD, PLAINTEXT)));
            Thread.sleep(10);
            // Waits for the lock meanwhile; with a permit in hand it would leave none for the call below.
            Future<Throwable> second = pool.submit(() -> catchThrowable(
                    () -> hsm.encrypt(new HsmKeyRef("missing/2"), IV, AAD, PLAINTEXT)));
            Thread.sleep(10);

            byte[] sealed = hsm.encrypt(key, IV, AAD, PLAINTEXT);

            assertThat(hsm.decrypt(key, IV, AAD, sealed)).isEqualTo(PLAINTEXT);
            for (Future<Throwable> miss : java.util.List.of(first, second)) {
                assertThat(miss.get()).isInstanceOfSatisfying(HsmException.class,
                        e -> assertThat(e.reason()).isEqualTo(HsmException.Reason.NOT_FOUND));
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
