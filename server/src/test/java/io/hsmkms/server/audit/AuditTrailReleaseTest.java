package io.hsmkms.server.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.audit.AuditVerifier;
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
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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

    @Test
    void appendsRacingClose_areEachWrittenOrFailed_noneLeftWaiting() throws Exception {
        // Callers that keep appending while close() runs: each learns promptly whether its record was written, and
        // none that was told "durable" is missing. The narrowest window (a record queued after close() collected
        // what was left) cannot be forced from here; appendAsync's second look at `closed` is there for it.
        AtomicInteger unanswered = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        for (int round = 0; round < 20; round++) {
            Path roundDir = dir.resolve("round-" + round);
            HashChainedFileTrail racing = HashChainedFileTrail.open(new HashChainedFileTrail.Settings(roundDir,
                    HashChainedFileTrail.Durability.SYNC, Long.MAX_VALUE, Duration.ofHours(1)), softwareSigner(), Clock.systemUTC());
            List<String> durable = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService callers = Executors.newFixedThreadPool(8);
            CountDownLatch started = new CountDownLatch(8);
            for (int t = 0; t < 8; t++) {
                callers.execute(() -> {
                    started.countDown();
                    while (!stop.get()) {
                        AuditRecord record = record("Encrypt");
                        try {
                            // Well under the 10 s limit: a record nobody will write must not wait for it.
                            racing.appendAsync(record).toCompletableFuture().get(2, TimeUnit.SECONDS);
                            durable.add(record.eventId());
                        } catch (java.util.concurrent.TimeoutException e) {
                            unanswered.incrementAndGet();
                        } catch (java.util.concurrent.ExecutionException e) {
                            assertThat(e.getCause()).isInstanceOf(AuditTrail.AuditUnavailableException.class);
                            refused.incrementAndGet();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
            }
            started.await();
            Thread.sleep(20);
            racing.close();
            Thread.sleep(5);
            stop.set(true);
            callers.shutdown();
            assertThat(callers.awaitTermination(30, TimeUnit.SECONDS)).isTrue();

            java.util.Set<String> written = new java.util.HashSet<>();
            for (String line : trailText(roundDir).split("\n")) {
                if (!line.isEmpty()) {
                    written.add(TrailFiles.JSON.readTree(line).get("eventId").asText());
                }
            }
            assertThat(written).as("every record reported durable is in the trail").containsAll(durable);
            assertThat(AuditVerifier.verify(roundDir, null).problems()).isEmpty();
        }
        assertThat(unanswered.get()).as("calls still waiting for their record 2 s after close()").isZero();
        assertThat(refused.get()).as("calls after close() were refused").isPositive();
    }

    @Test
    void aFileWhoseDigestCouldNotBeSigned_staysOpen_andIsSignedWhole_later() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-06T08:00:00Z"));
        AtomicBoolean refusing = new AtomicBoolean(true);
        AtomicInteger attempts = new AtomicInteger();
        Hsm.Signer signer = softwareSigner();
        Hsm.Signer flaky = new Hsm.Signer() {
            @Override
            public PublicKey publicKey() {
                return signer.publicKey();
            }

            @Override
            public byte[] sign(byte[] data) {
                attempts.incrementAndGet();
                if (refusing.get()) {
                    throw new IllegalStateException("the HSM is not answering");
                }
                return signer.sign(data);
            }
        };
        // Every batch fills the file: the writer tries to close it after each, or 10 s (by this clock) after a failure.
        trail = HashChainedFileTrail.open(new HashChainedFileTrail.Settings(dir, HashChainedFileTrail.Durability.SYNC,
                1, Duration.ofHours(1)), flaky, clock);
        trail.append(record("First"));
        waitUntil(() -> attempts.get() == 1); // refused: the file stays open
        trail.append(record("Second"));
        refusing.set(false);
        clock.advance(Duration.ofSeconds(11));
        Path first = TrailFiles.logFiles(dir).getFirst();
        waitUntil(() -> Files.exists(TrailFiles.digestOf(first)));

        assertThat(attempts.get()).isEqualTo(2);
        assertThat(TrailFiles.recordLines(first)).hasSize(2);
        AuditVerifier.Report report = AuditVerifier.verify(dir, null);
        assertThat(report.problems()).as("the digest's file hash covers both records").isEmpty();
        assertThat(report.unsignedRecords()).isZero();
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
        return trailText(dir);
    }

    private static String trailText(Path dir) {
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

    /** A clock the test moves: the retry after a failed signature waits 10 s by the trail's clock. */
    private static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
