package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.pkcs11.SunPkcs11Hsm;
import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.server.store.ExternalDatabase;
import io.hsmkms.server.store.JdbcKeyRepository;
import io.hsmkms.server.testing.CountingHsm;
import io.hsmkms.server.testing.OffsetClock;
import io.hsmkms.server.testing.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The deletion job on two nodes: two repositories (two pools) on one PostgreSQL database and one real SoftHSM
 * token. Node X's HSM can be paused or failed right before it destroys material, to look inside its run.
 */
class KeyDeletionClaimTest {
    private static TestPostgres postgres;
    private static SoftHsmToken token;
    private static SunPkcs11Hsm hsm;

    private final OffsetClock clock = new OffsetClock();
    private JdbcKeyRepository nodeX;
    private JdbcKeyRepository nodeY;
    private CountingHsm hsmX;

    @BeforeAll
    static void start() {
        postgres = TestPostgres.start();
        token = SoftHsmToken.create();
        hsm = SunPkcs11Hsm.open(token.config());
    }

    @AfterAll
    static void stop() {
        if (hsm != null) {
            hsm.close();
        }
        if (token != null) {
            token.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @BeforeEach
    void openNodes() {
        ExternalDatabase database = postgres.newDatabase();
        nodeX = JdbcKeyRepository.postgres(database);
        nodeY = JdbcKeyRepository.postgres(database);
        hsmX = new CountingHsm(hsm);
    }

    @AfterEach
    void closeNodes() {
        nodeX.close();
        nodeY.close();
    }

    @Test
    void keyBeingDestroyedByOneNode_isNotDueForAnother() throws Exception {
        ManagedKey key = dueKey();
        CountDownLatch paused = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        hsmX.beforeDestroy(ref -> {
            paused.countDown();
            await(resume);
        });
        CompletableFuture<Integer> runX = CompletableFuture.supplyAsync(() -> new KeyDeletion(hsmX, nodeX, clock, KeyEvents.NONE).runOnce());
        assertThat(paused.await(30, TimeUnit.SECONDS)).as("node X claimed the key and is about to destroy it").isTrue();

        int deletedByY = new KeyDeletion(hsm, nodeY, clock, KeyEvents.NONE).runOnce();

        assertThat(deletedByY).as("node Y leaves a claimed key alone").isZero();
        assertThat(hsm.listKeyLabels()).contains(key.currentVersion().hsmLabel());
        resume.countDown();
        assertThat(runX.get(30, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(nodeY.find(key.id())).isEmpty();
        assertThat(hsm.listKeyLabels()).doesNotContain(key.currentVersion().hsmLabel());
    }

    @Test
    void claimOfANodeThatFailed_isTakenOverWhenTheLeaseEnds() {
        ManagedKey key = dueKey();
        hsmX.beforeDestroy(ref -> {
            throw new HsmException(HsmException.Reason.DEVICE, "destroy key");
        });
        assertThat(new KeyDeletion(hsmX, nodeX, clock, KeyEvents.NONE).runOnce()).isZero();
        KeyDeletion onY = new KeyDeletion(hsm, nodeY, clock, KeyEvents.NONE);

        assertThat(onY.runOnce()).as("the claim still holds").isZero();
        clock.advance(KeyDeletion.CLAIM_LEASE.plusSeconds(1));
        assertThat(onY.runOnce()).as("the lease has ended").isEqualTo(1);

        assertThat(nodeX.find(key.id())).isEmpty();
        assertThat(hsm.listKeyLabels()).doesNotContain(key.currentVersion().hsmLabel());
    }

    /** A key with real material whose deletion date has passed. */
    private ManagedKey dueKey() {
        UUID id = UUID.randomUUID();
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        String label = KeyOperations.hsmLabel(id, 1);
        hsm.generateAesKey(label);
        return nodeX.insert(new ManagedKey(id, "111122223333", now.minus(Duration.ofDays(8)), "", KeyState.PENDING_DELETION,
                KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, KeyOrigin.HSM, List.of(new KeyVersion(1, label, now)),
                "{}", Map.of(), now.minusSeconds(1), ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0));
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
