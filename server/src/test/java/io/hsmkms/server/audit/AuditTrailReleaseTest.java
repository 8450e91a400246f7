package io.hsmkms.server.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.audit.TrailFiles;
import io.hsmkms.hsm.Hsm;
import io.hsmkms.server.testing.HeldAuditWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The non-blocking append: a caller's stage completes only once its record is written, on one of
 * the trail's release threads, fails when the record cannot be made durable, and nothing a caller
 * chains onto it can hold up or break the writer.
 */
class AuditTrailReleaseTest {
    @TempDir
    Path dir;
    private HashChainedFileTrail trail;

    @AfterEach
    void closeTrail() {
        if (trail != null) {
            trail.close();
        }
    }

    @Test
    void appendAsync_returnsAtOnce_andCompletesOnAReleaseThreadOnlyOnceItsRecordIsWritten() throws Exception {
        trail = open(Long.MAX_VALUE);
        AuditRecord record = record("Encrypt");
        CompletableFuture<String> seen;
        try (HeldAuditWriter hold = HeldAuditWriter.hold(trail)) {
            seen = trail.appendAsync(record).toCompletableFuture()
                    .thenApply(ignored -> Thread.currentThread().getName() + " found=" + trailText().contains(record.eventId()));

            assertThat(seen).as("the writer is held: nothing is written, so nothing may be reported durable").isNotDone();
            assertThat(trailText()).doesNotContain(record.eventId());
            hold.release();
        }

        assertThat(seen.get(10, TimeUnit.SECONDS)).startsWith("audit-release-").endsWith(" found=true");
    }

    @Test
    void aRecordNotWrittenWithinTenSeconds_failsItsStageAndTheBlockingAppend_andTheTrailGoesOn() throws Exception {
        trail = open(Long.MAX_VALUE);
        CompletableFuture<String> outcome;
        CompletableFuture<RuntimeException> blocking;
        long started = System.nanoTime();
        try (HeldAuditWriter hold = HeldAuditWriter.hold(trail)) {
            outcome = trail.appendAsync(record("Encrypt")).toCompletableFuture().handle((ignored, failure) ->
                    Thread.currentThread().getName() + " " + (failure == null ? "durable" : unwrap(failure).getClass().getSimpleName()));
            blocking = CompletableFuture.supplyAsync(() -> {
                try {
                    trail.append(record("CreateKey"));
                    return null;
                } catch (RuntimeException e) {
                    return e;
                }
            });

            assertThat(outcome.get(30, TimeUnit.SECONDS)).startsWith("audit-release-").endsWith(" AuditUnavailableException");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofSeconds(10));
            assertThat(blocking.get(30, TimeUnit.SECONDS)).isInstanceOf(AuditTrail.AuditUnavailableException.class);
        }

        AuditRecord after = record("Decrypt");
        trail.append(after);
        assertThat(trailText()).contains(after.eventId());
    }

    @Test
    void completionsThatThrowOrNeverReturn_leaveTheWriterWriting() throws Exception {
        trail = open(Long.MAX_VALUE);
        CountDownLatch stuck = new CountDownLatch(2);
        CountDownLatch unstick = new CountDownLatch(1);
        try {
            // Chained while the writer is held, so that they run where the trail completes stages, not here; one
            // batch each, so that each release thread is caught in a completion of its own.
            try (HeldAuditWriter hold = HeldAuditWriter.hold(trail)) {
                trail.appendAsync(record("Throws")).thenRun(() -> {
                    throw new IllegalStateException("a completion that fails");
                });
                trail.appendAsync(record("Blocks")).thenRun(() -> stickUntil(stuck, unstick));
            }
            waitUntil(() -> stuck.getCount() == 1);
            try (HeldAuditWriter hold = HeldAuditWriter.hold(trail)) {
                trail.appendAsync(record("Blocks")).thenRun(() -> stickUntil(stuck, unstick));
            }
            assertThat(stuck.await(10, TimeUnit.SECONDS)).as("both release threads are stuck").isTrue();
            AuditRecord record = record("Encrypt");

            CompletableFuture<Void> released = trail.appendAsync(record).toCompletableFuture();

            waitUntil(() -> trailText().contains(record.eventId()));
            assertThat(released).as("no release thread is free to tell the caller").isNotDone();
            unstick.countDown();
            released.get(10, TimeUnit.SECONDS);
        } finally {
            unstick.countDown();
        }
    }

    @Test
    void aBrokenTrail_failsTheStage_andRefusesFromThenOn() throws Exception {
        trail = open(1); // every record closes its file and opens the next
        Files.createFile(dir.resolve(TrailFiles.logFileName(2))); // ... which then cannot be created: the trail breaks
        trail.append(record("CreateKey"));

        CompletableFuture<Void> stage = trail.appendAsync(record("Encrypt")).toCompletableFuture();

        assertThatThrownBy(() -> stage.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(AuditTrail.AuditUnavailableException.class);
        assertThatThrownBy(() -> trail.append(record("Decrypt"))).isInstanceOf(AuditTrail.AuditUnavailableException.class);
    }

    private HashChainedFileTrail open(long maxFileBytes) throws GeneralSecurityException {
        return HashChainedFileTrail.open(new HashChainedFileTrail.Settings(dir, HashChainedFileTrail.Durability.SYNC,
                maxFileBytes, Duration.ofHours(1)), softwareSigner(), Clock.systemUTC());
    }

    /** Digests need a signature; which key makes it does not matter here. */
    static Hsm.Signer softwareSigner() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = generator.generateKeyPair();
        return new Hsm.Signer() {
            @Override
            public PublicKey publicKey() {
                return pair.getPublic();
            }

            @Override
            public byte[] sign(byte[] data) {
                try {
                    Signature signature = Signature.getInstance("SHA256withECDSA");
                    signature.initSign(pair.getPrivate());
                    signature.update(data);
                    return signature.sign();
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    private static AuditRecord record(String name) {
        return AuditRecord.serviceEvent(Instant.now(), name, "key-1", "arn:hsmkms:kms:test-1:111122223333:key/key-1",
                "111122223333", Map.of());
    }

    private String trailText() {
        StringBuilder text = new StringBuilder();
        try {
            for (Path file : TrailFiles.logFiles(dir)) {
                TrailFiles.recordLines(file).forEach(line -> text.append(line).append('\n'));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString();
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static void stickUntil(CountDownLatch stuck, CountDownLatch unstick) {
        stuck.countDown();
        try {
            unstick.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
