package io.hsmkms.server.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.audit.AuditVerifier;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.pkcs11.SunPkcs11Hsm;
import io.hsmkms.hsm.testing.SoftHsmToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real trail (records, rotation, digests signed in SoftHSM2), then one kind of tampering per
 * test on a copy of it: the verifier must say that the trail is broken and where.
 */
class AuditTrailTamperTest {
    /** About 8 records fill a 4 KiB file: 43 leaves a few in the open file. */
    private static final int RECORDS = 43;

    private static SoftHsmToken token;
    private static SunPkcs11Hsm hsm;
    private static Path pristine;

    @TempDir
    Path work;

    @BeforeAll
    static void writeTrail(@TempDir Path dir) {
        token = SoftHsmToken.create();
        hsm = SunPkcs11Hsm.open(token.config());
        pristine = dir.resolve("trail");
        // Small files: the 43 records spread over several closed, signed files plus an open one.
        HashChainedFileTrail trail = open(pristine, hsm.signer(HashChainedFileTrail.signingKeyLabel("test")));
        for (int i = 1; i <= RECORDS; i++) {
            trail.append(record("Encrypt", i));
        }
        abandon(trail);
    }

    @AfterAll
    static void closeToken() {
        hsm.close();
        token.close();
    }

    @Test
    void untouchedTrail_isIntact_andSaysHowMuchIsNotSignedYet() throws IOException {
        AuditVerifier.Report report = AuditVerifier.verify(pristine, null);

        assertThat(report.problems()).isEmpty();
        assertThat(report.records()).isEqualTo(RECORDS);
        assertThat(report.files()).isGreaterThan(3);
        assertThat(report.unsignedRecords()).isBetween(1L, (long) RECORDS / 2);
    }

    @Test
    void editedRecord_isFoundAtTheNextLine_andByTheDigest() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 1);
        List<String> lines = lines(file);
        lines.set(1, lines.get(1).replace("\"Encrypt\"", "\"Decrypt\""));
        write(file, lines);

        List<String> problems = problems(trail);

        assertThat(problems).anyMatch(p -> p.startsWith(name(file) + ":3: hash chain broken"));
        assertThat(problems).anyMatch(p -> p.startsWith(name(file) + ": content differs from its signed digest"));
    }

    @Test
    void removedRecord_isReportedAsMissingWithItsSequenceNumber() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 1);
        List<String> lines = lines(file);
        long removedSeq = seq(lines.get(1));
        lines.remove(1);
        write(file, lines);

        assertThat(problems(trail)).anyMatch(p -> p.startsWith(name(file) + ":2: records " + removedSeq + ".." + removedSeq
                + " are missing"));
    }

    @Test
    void reorderedRecords_areReportedOutOfOrder() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 0);
        List<String> lines = lines(file);
        String second = lines.get(1);
        lines.set(1, lines.get(2));
        lines.set(2, second);
        write(file, lines);

        List<String> problems = problems(trail);
        assertThat(problems).anyMatch(p -> p.startsWith(name(file) + ":3: seq ") && p.contains("out of order"));
        assertThat(problems).anyMatch(p -> p.startsWith(name(file) + ":2: hash chain broken"));
    }

    @Test
    void truncatedClosedFile_isShorterThanItsDigestSays() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 1);
        List<String> lines = lines(file);
        write(file, lines.subList(0, lines.size() - 2));

        assertThat(problems(trail)).anyMatch(p -> p.startsWith(name(file) + ": digest covers " + lines.size() + " records")
                && p.contains("truncated"));
    }

    @Test
    void fileCutInTheMiddleOfARecord_isReported() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 0);
        byte[] content = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(content, content.length - 20));

        assertThat(problems(trail)).anyMatch(p -> p.startsWith(name(file) + ":") && p.contains("last line is incomplete"));
    }

    @Test
    void removedWholeFileWithItsDigest_breaksBothChains() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 1);
        Path next = closedFile(trail, 2);
        Files.delete(file);
        Files.delete(TrailFiles.digestOf(file));

        List<String> problems = problems(trail);
        assertThat(problems).anyMatch(p -> p.startsWith(name(next) + ":1: records ") && p.contains("are missing"));
        assertThat(problems).anyMatch(p -> p.startsWith(name(TrailFiles.digestOf(next)) + ": does not follow the previous digest"));
    }

    @Test
    void editedDigest_failsItsSignature() throws IOException {
        Path trail = copy();
        Path digest = TrailFiles.digestOf(closedFile(trail, 1));
        List<String> lines = lines(digest);
        lines.set(0, lines.get(0).replace("\"recoveredAfterCrash\":false", "\"recoveredAfterCrash\":true"));
        write(digest, lines);

        assertThat(problems(trail)).contains(name(digest) + ": signature does not verify: the digest was edited or forged");
    }

    @Test
    void removedDigestOfAClosedFile_isReported() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 0);
        Files.delete(TrailFiles.digestOf(file));

        assertThat(problems(trail)).contains(name(file) + ": closed file has no signed digest (removed?)");
    }

    @Test
    void digestsForgedWithAnotherKey_failAgainstThePinnedKey() throws Exception {
        Path trail = copy();
        Path digest = TrailFiles.digestOf(closedFile(trail, 0));
        var forger = KeyPairGenerator.getInstance("EC");
        forger.initialize(new ECGenParameterSpec("secp256r1"));
        var pair = forger.generateKeyPair();
        String json = lines(digest).get(0).replaceAll("\"publicKeySha256\":\"[0-9a-f]+\"",
                "\"publicKeySha256\":\"" + TrailFiles.sha256Hex(pair.getPublic().getEncoded()) + "\"");
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(pair.getPrivate());
        signer.update(json.getBytes(StandardCharsets.UTF_8));
        write(digest, List.of(json, Base64.getEncoder().encodeToString(signer.sign())));
        java.security.PublicKey pinned = hsm.signer(HashChainedFileTrail.signingKeyLabel("test")).publicKey();

        List<String> problems = AuditVerifier.verify(trail, pinned).problems().stream().map(Object::toString).toList();

        assertThat(problems).anyMatch(p -> p.startsWith(name(digest) + ": signed by a key that is not trusted"));
    }

    @Test
    void editInTheOpenFile_isFoundByTheChainBeforeAnyDigestCoversIt() throws IOException {
        Path trail = copy();
        List<Path> files = TrailFiles.logFiles(trail);
        Path open = files.getLast();
        assertThat(TrailFiles.digestOf(open)).doesNotExist();
        List<String> lines = lines(open);
        lines.set(0, lines.get(0).replace("111122223333", "999999999999"));
        write(open, lines);

        assertThat(problems(trail)).anyMatch(p -> p.startsWith(name(open) + ":2: hash chain broken"));
    }

    @Test
    void crashWithATornLastLine_isRecovered_andTheChainGoesOn() throws IOException {
        Path trail = copy();
        Path open = TrailFiles.logFiles(trail).getLast();
        // Straight after the last record, over the zeros allocated ahead, as the writer would have written it.
        writeAt(open, TrailFiles.recordedLength(Files.readAllBytes(open)), "{\"seq\":999,\"prev\":\"ab");

        AuditVerifier.Report report = restartAndAppendOne(trail);

        assertThat(report.problems()).isEmpty();
        assertThat(report.records()).isEqualTo(RECORDS + 1);
        assertThat(report.unsignedRecords()).isZero();
        assertThat(lines(TrailFiles.digestOf(open)).get(0)).contains("\"recoveredAfterCrash\":true");
    }

    @Test
    void openFileEndsInZerosAllocatedAhead_closedFilesHoldOnlyTheirRecords() throws IOException {
        List<Path> files = TrailFiles.logFiles(pristine);
        byte[] open = Files.readAllBytes(files.getLast());
        int recorded = TrailFiles.recordedLength(open);

        assertThat(recorded).isPositive().isLessThan(open.length);
        assertThat(open[recorded - 1]).isEqualTo((byte) '\n');
        for (Path closed : files.subList(0, files.size() - 1)) {
            byte[] content = Files.readAllBytes(closed);
            assertThat(TrailFiles.recordedLength(content)).as(name(closed)).isEqualTo(content.length);
        }
    }

    @Test
    void zerosAtTheEndOfAClosedFile_areAChange() throws IOException {
        Path trail = copy();
        Path file = closedFile(trail, 0);
        Files.write(file, new byte[100], java.nio.file.StandardOpenOption.APPEND);

        assertThat(problems(trail)).anyMatch(p -> p.startsWith(name(file) + ": content differs from its signed digest"));
    }

    @Test
    void crashWithPartOfABatchBeyondTheZeros_keepsOnlyTheRecordsBeforeThem() throws IOException {
        Path trail = copy();
        Path open = TrailFiles.logFiles(trail).getLast();
        byte[] content = Files.readAllBytes(open);
        int recorded = TrailFiles.recordedLength(content);
        List<String> before = new String(content, 0, recorded, StandardCharsets.UTF_8).lines().toList();
        // A later sector of an unacknowledged batch reached the disk, an earlier one did not: a gap of zeros.
        String stray = before.getLast().replaceFirst("\"seq\":\\d+", "\"seq\":" + (RECORDS + 1)) + "\n";
        writeAt(open, recorded + 512, stray);
        assertThat(problems(trail)).anyMatch(p -> p.startsWith(name(open) + ":" + (before.size() + 1) + ": not an audit record"));

        AuditVerifier.Report report = restartAndAppendOne(trail);

        assertThat(report.problems()).isEmpty();
        assertThat(report.records()).isEqualTo(RECORDS + 1);
        assertThat(lines(open)).isEqualTo(before);
        assertThat(lines(TrailFiles.digestOf(open)).get(0)).contains("\"recoveredAfterCrash\":true");
    }

    /** The next start after a crash: the trail recovers, takes one more record and closes. */
    private static AuditVerifier.Report restartAndAppendOne(Path trail) throws IOException {
        HashChainedFileTrail reopened = open(trail, hsm.signer(HashChainedFileTrail.signingKeyLabel("test")));
        reopened.append(record("Decrypt", 1000));
        reopened.close();
        return AuditVerifier.verify(trail, null);
    }

    private static void writeAt(Path file, long position, String text) throws IOException {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), position);
        }
    }

    private static HashChainedFileTrail open(Path dir, Hsm.Signer signer) {
        return HashChainedFileTrail.open(new HashChainedFileTrail.Settings(dir, HashChainedFileTrail.Durability.SYNC,
                4096, Duration.ofHours(1)), signer, Clock.systemUTC());
    }

    /** As a crash would: the writer stops, the open file stays open, nothing is closed or signed. */
    private static void abandon(HashChainedFileTrail trail) {
        // Records are durable once append returns (SYNC); dropping the object leaves the last file without a digest.
    }

    private static AuditRecord record(String name, int n) {
        return new AuditRecord(Instant.parse("2026-11-24T10:00:00Z").plusSeconds(n), "event-" + n,
                AuditRecord.Type.ApiCall, name, "request-" + n, "arn:hsmkms:iam::111122223333:user/app", "111122223333",
                "MTLS", "127.0.0.1", List.of(new AuditRecord.KeyUse("key-" + n, "arn:hsmkms:kms:test-1:111122223333:key/k" + n,
                        1, Map.of("tenant", "t" + n))), null, "SYMMETRIC_DEFAULT", null, AuditRecord.Outcome.Allowed, null,
                120L + n, null);
    }

    private Path copy() throws IOException {
        Path target = work.resolve("copy");
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(pristine)) {
            for (Path file : files.toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
        return target;
    }

    private static Path closedFile(Path trail, int index) {
        List<Path> closed = TrailFiles.logFiles(trail).stream().filter(f -> Files.exists(TrailFiles.digestOf(f))).toList();
        assertThat(closed.size()).isGreaterThan(index);
        return closed.get(index);
    }

    private static List<String> problems(Path trail) throws IOException {
        AuditVerifier.Report report = AuditVerifier.verify(trail, null);
        assertThat(report.intact()).isFalse();
        return report.problems().stream().map(Object::toString).toList();
    }

    private static List<String> lines(Path file) throws IOException {
        return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    private static void write(Path file, List<String> lines) throws IOException {
        Files.write(file, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static long seq(String line) {
        return Long.parseLong(line.replaceAll("^\\{\"seq\":(\\d+),.*$", "$1"));
    }

    private static String name(Path file) {
        return file.getFileName().toString();
    }
}
