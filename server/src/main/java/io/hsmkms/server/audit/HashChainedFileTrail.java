package io.hsmkms.server.audit;

import com.fasterxml.jackson.databind.JsonNode;
import io.hsmkms.audit.TrailDigest;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.hsm.Hsm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail as append-only JSON-lines files in one directory. Each line carries its sequence
 * number and the SHA-256 of the line before it ({@code prev}), so an edited, removed or reordered
 * line breaks the chain where it happened. Files are closed by size or age; closing writes a digest
 * (extent, last hash, file hash, hash of the previous digest) signed by a non-extractable key in
 * the HSM, as CloudTrail's log file integrity validation does. {@link AuditVerifier} checks all of it.
 *
 * <p>One writer thread does all file work. It takes whatever records are waiting, writes them in
 * one go and forces them to disk once (group commit); with {@link Durability#SYNC} a caller learns
 * that its record is written only after that. After a crash the next start cuts a torn last line (a
 * record nobody was told was written), closes that file with a digest marked as recovered, and
 * continues the chain.
 *
 * <p>The open file is allocated ahead of its records: the writer fills it with zeros 256 KiB at a time and
 * writes records over them, so the force after a batch writes data only. Appending instead makes every
 * force also commit the file's new length to the file system's journal: on the benchmark machine
 * (ext4) that made each force about 1.5-2x as costly (docs/benchmarks.md). A closed file is cut to its records
 * before its digest is made; readers skip the zeros at the end of the open file
 * ({@link TrailFiles#recordedLength}).
 *
 * <p>The writer does not complete the callers' stages itself: it hands each written batch to a
 * small release pool as one task. What callers chain onto a stage (a response to serialize and
 * send, a log line to a console that may be slow) then runs there, and the writer goes straight on
 * to the next batch; one hand-off per batch costs one wake-up per group commit rather than one per
 * record. The durability time limit is checked on the same pool, once a second for all records
 * waiting (one timer per record cost about 1.5 % of the server's Java samples), so everything chained
 * onto a stage runs on a release thread unless the stage was already complete when it was chained.
 *
 * <p>The writer hashes each batch into the open file's digest as it writes it, so closing a file
 * does not read it back (16 MiB by default, one large array each time).
 */
public final class HashChainedFileTrail implements AuditTrail {
    private static final Logger LOG = LoggerFactory.getLogger(HashChainedFileTrail.class);
    /** The label of the HSM key pair that signs a node's digests: one per node, so nodes never race to create it. */
    public static String signingKeyLabel(String nodeId) {
        return "hsmkms-audit/" + nodeId;
    }
    private static final int QUEUE_CAPACITY = 65_536;
    private static final int MAX_BATCH = 1_024;
    private static final int PREALLOCATION_BYTES = 256 * 1024;
    /** A batch buffer starts this large and is replaced after a batch that grew it past KEPT_BATCH_BYTES. */
    private static final int BATCH_BYTES = 64 * 1024;
    private static final int KEPT_BATCH_BYTES = 1024 * 1024;
    private static final Duration OFFER_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DURABLE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DURABLE_CHECK_INTERVAL = Duration.ofSeconds(1);
    private static final HexFormat HEX = HexFormat.of();
    /**
     * Two, so that one completion stuck in a slow log appender neither holds up every later batch
     * nor the time limits; more would only compete with the writer and the handlers for the cores.
     */
    private static final int RELEASE_THREADS = 2;

    /** SYNC: a call is answered after its record is on disk. ASYNC: records reach the disk a moment later. */
    public enum Durability { SYNC, ASYNC }

    /**
     * @param maxFileBytes a file is closed (and its digest signed) once it is this large
     * @param maxFileAge   ... or this old; records after the last digest are only hash-chained, not yet signed
     */
    public record Settings(Path dir, Durability durability, long maxFileBytes, Duration maxFileAge) {
        public static final long DEFAULT_MAX_FILE_BYTES = 16L * 1024 * 1024;
        public static final Duration DEFAULT_MAX_FILE_AGE = Duration.ofMinutes(15);

        public static Settings defaults(Path dir) {
            return new Settings(dir, Durability.SYNC, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILE_AGE);
        }
    }

    /**
     * @param fields   the record's JSON, made by the caller: the writer only splices it into the line
     * @param queuedAt {@link System#nanoTime()} when it was handed over, for the durability limit
     */
    private record Pending(AuditRecord record, byte[] fields, CompletableFuture<Void> durable, long queuedAt) {}

    private static final Pending STOP = new Pending(null, null, null, 0);

    private final Settings settings;
    private final Hsm.Signer signer;
    private final Clock clock;
    private final String publicKeySha256;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final List<Consumer<Entry>> subscribers = new CopyOnWriteArrayList<>();
    private final Thread writer;
    private final ScheduledThreadPoolExecutor releaser = releasePool();
    private volatile boolean closed;
    private volatile boolean broken;
    /** The batch the writer is working on, for the durability check: its records have left the queue. */
    private volatile List<Pending> writing = List.of();

    // Owned by the writer thread (and the constructor before it starts).
    private FileChannel channel;
    private Path current;
    private long firstSeq;
    private long nextSeq = 1;
    private String firstPrev;
    private String prev = TrailFiles.GENESIS;
    private long records;
    private long bytes;
    /** The file's length: {@link #bytes} of records, then zeros to write over. */
    private long allocated;
    private final ByteBuffer zeros = ByteBuffer.allocateDirect(PREALLOCATION_BYTES);
    private Instant openedAt;
    private String previousDigestSha256 = TrailFiles.GENESIS;
    private Instant retrySigningAfter = Instant.MIN;
    private final MessageDigest lineHash = sha256();
    /** The batch being written, kept from one batch to the next (up to {@link #KEPT_BATCH_BYTES}). */
    private JsonBytes batchBytes = new JsonBytes(BATCH_BYTES);
    /** Everything written to the open file so far. */
    private MessageDigest fileHash = sha256();

    private HashChainedFileTrail(Settings settings, Hsm.Signer signer, Clock clock) throws IOException {
        this.settings = settings;
        this.signer = signer;
        this.clock = clock;
        Files.createDirectories(settings.dir());
        byte[] publicKey = signer.publicKey().getEncoded();
        this.publicKeySha256 = TrailFiles.sha256Hex(publicKey);
        Path pem = TrailFiles.publicKeyFile(settings.dir(), publicKeySha256);
        if (!Files.exists(pem)) {
            DurableFiles.writeAtomically(pem, ("-----BEGIN PUBLIC KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(publicKey)
                    + "\n-----END PUBLIC KEY-----\n").getBytes(StandardCharsets.US_ASCII));
        }
        recover();
        openNewFile();
        this.writer = new Thread(this::writeLoop, "audit-writer");
        writer.setDaemon(true);
        writer.start();
        if (settings.durability() == Durability.SYNC) {
            releaser.scheduleWithFixedDelay(this::failOverdue, DURABLE_CHECK_INTERVAL.toMillis(),
                    DURABLE_CHECK_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Opens (creating or recovering) the trail in {@code settings.dir()}; digests are signed by {@code signer}. */
    public static HashChainedFileTrail open(Settings settings, Hsm.Signer signer, Clock clock) {
        try {
            return new HashChainedFileTrail(settings, signer, clock);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the audit trail in " + settings.dir(), e);
        }
    }

    /**
     * Returns at once unless 65,536 records are already waiting for the writer: then the caller
     * waits up to 5 s for room, which is what slows callers down when the disk cannot keep up. With
     * SYNC durability the stage fails if the record is not on disk within 10 s of being queued (found
     * by a check once a second, so 10-11 s).
     */
    @Override
    public CompletionStage<Void> appendAsync(AuditRecord record) {
        if (closed || broken) {
            return CompletableFuture.failedStage(notAccepting());
        }
        byte[] fields;
        try {
            // Made on the caller's thread: it is most of the work of a line, and only seq and prev need the writer.
            fields = RecordJson.of(record);
        } catch (RuntimeException e) {
            // Refused alone: a record the writer could not serialize would have broken the whole trail.
            return CompletableFuture.failedStage(new AuditUnavailableException("the audit record could not be serialized"));
        }
        Pending pending = new Pending(record, fields, new CompletableFuture<>(), System.nanoTime());
        try {
            if (!queue.offer(pending, OFFER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                return CompletableFuture.failedStage(new AuditUnavailableException("the audit trail is not keeping up"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedStage(new AuditUnavailableException("interrupted while writing the audit record"));
        }
        if (settings.durability() == Durability.ASYNC) {
            return CompletableFuture.completedStage(null);
        }
        if (closed && queue.remove(pending)) {
            // close() ran meanwhile and may have collected what was left before this arrived: nobody would take it.
            return CompletableFuture.failedStage(notAccepting());
        }
        // A minimal stage: callers may wait on it and chain onto it, not complete it for the writer.
        return pending.durable().minimalCompletionStage();
    }

    @Override
    public void append(AuditRecord record) {
        try {
            // The stage fails by itself after DURABLE_TIMEOUT; the margin here only matters if every release thread
            // is stuck in somebody's completion and cannot run the durability check.
            appendAsync(record).toCompletableFuture().get(DURABLE_TIMEOUT.plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuditUnavailableException("interrupted while writing the audit record");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof AuditUnavailableException unavailable
                    ? new AuditUnavailableException(unavailable.getMessage()) : notDurable();
        } catch (TimeoutException e) {
            throw notDurable();
        }
    }

    /** Records handed to the trail that the writer has not taken yet (how far behind the disk is). */
    public int backlog() {
        int waiting = queue.size();
        return queue.contains(STOP) ? waiting - 1 : waiting;
    }

    @Override
    public AutoCloseable subscribe(Consumer<Entry> subscriber) {
        subscribers.add(subscriber);
        return () -> subscribers.remove(subscriber);
    }

    /** Takes what is queued, then closes the current file with a signed digest. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            queue.put(STOP);
            writer.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Whatever the writer did not take (queued behind STOP, or it gave up) will never be written; with a
        // writer stuck past the join, neither will its batch. Their callers learn it now, not never.
        List<Pending> left = new ArrayList<>(writer.isAlive() ? writing : List.of());
        queue.drainTo(left);
        for (Pending pending : left) {
            if (pending != STOP && pending.durable() != null) {
                pending.durable().completeExceptionally(notAccepting());
            }
        }
        // Releases already handed over still run; the durability check stops.
        releaser.shutdown();
    }

    /** Fails the stages of records queued more than {@link #DURABLE_TIMEOUT} ago and still not written. */
    private void failOverdue() {
        long now = System.nanoTime();
        long limit = DURABLE_TIMEOUT.toNanos();
        for (Pending pending : writing) {
            if (now - pending.queuedAt() >= limit) {
                pending.durable().completeExceptionally(notDurable());
            }
        }
        // In queue order, which is not quite the order of queuedAt (an offer may wait for room): look at all of them.
        for (Pending pending : queue) {
            if (pending != STOP && now - pending.queuedAt() >= limit) {
                pending.durable().completeExceptionally(notDurable());
            }
        }
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        boolean stop = false;
        while (!stop) {
            batch.clear();
            try {
                Pending first = queue.poll(250, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, MAX_BATCH - 1);
                }
            } catch (InterruptedException e) {
                stop = true;
            }
            if (batch.remove(STOP)) {
                stop = true;
            }
            if (!batch.isEmpty()) {
                // A copy: the durability check and the release threads read it while this list is reused.
                List<Pending> taken = List.copyOf(batch);
                writing = taken;
                writeBatch(taken);
                writing = List.of();
            }
            if (!broken && records > 0 && (bytes >= settings.maxFileBytes()
                    || Duration.between(openedAt, clock.instant()).compareTo(settings.maxFileAge()) >= 0)
                    && clock.instant().isAfter(retrySigningAfter)) {
                rotate();
            }
        }
        try {
            if (!broken) {
                closeCurrentFile();
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("closing the audit trail failed: {}", e.getClass().getSimpleName());
        }
    }

    private void writeBatch(List<Pending> batch) {
        if (broken) {
            release(batch, false);
            return;
        }
        if (batchBytes.buffer().length > KEPT_BATCH_BYTES) {
            batchBytes = new JsonBytes(BATCH_BYTES); // one batch of large records need not hold its memory for ever
        }
        JsonBytes out = batchBytes;
        out.reset();
        int[] ends = new int[batch.size()];
        long seq = nextSeq;
        String hash = prev;
        try {
            for (int i = 0; i < batch.size(); i++) {
                int start = out.length();
                line(out, seq, hash, batch.get(i).fields());
                lineHash.update(out.buffer(), start, out.length() - start);
                hash = HEX.formatHex(lineHash.digest());
                ends[i] = out.length();
                out.raw('\n');
                seq++;
            }
            ByteBuffer buffer = ByteBuffer.wrap(out.buffer(), 0, out.length());
            allocate(bytes + buffer.remaining());
            long position = bytes;
            while (buffer.hasRemaining()) {
                position += channel.write(buffer, position);
            }
            channel.force(false);
            fileHash.update(out.buffer(), 0, out.length());
        } catch (IOException | RuntimeException e) {
            fail("writing audit records failed", e);
            release(batch, false);
            return;
        }
        long firstOfBatch = nextSeq;
        records += seq - nextSeq;
        bytes += out.length();
        nextSeq = seq;
        prev = hash;
        release(batch, true);
        if (subscribers.isEmpty()) {
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            Pending pending = batch.get(i);
            int start = i == 0 ? 0 : ends[i - 1] + 1;
            Entry entry = new Entry(firstOfBatch + i, new String(out.buffer(), start, ends[i] - start, StandardCharsets.UTF_8),
                    pending.record());
            for (Consumer<Entry> subscriber : subscribers) {
                try {
                    subscriber.accept(entry);
                } catch (RuntimeException e) {
                    LOG.warn("an audit subscriber failed: {}", e.getClass().getSimpleName());
                }
            }
        }
    }

    /**
     * Tells a batch's callers, on a release thread, whether their records are on disk. A caller's
     * completion that throws or is slow costs that release thread, never the writer.
     */
    private void release(List<Pending> batch, boolean durable) {
        if (settings.durability() == Durability.ASYNC) {
            return; // nobody waits: appendAsync answered when the record was queued
        }
        Runnable task = () -> {
            for (Pending pending : batch) {
                try {
                    if (durable) {
                        pending.durable().complete(null);
                    } else {
                        pending.durable().completeExceptionally(notDurable());
                    }
                } catch (RuntimeException e) {
                    LOG.warn("telling a caller about its audit record failed: {}", e.getClass().getSimpleName());
                }
            }
        };
        try {
            releaser.execute(task);
        } catch (RejectedExecutionException e) {
            task.run(); // only once close() has given up waiting for the writer
        }
    }

    /** Makes the file at least {@code length} long with zeros, in steps of {@link #PREALLOCATION_BYTES}. */
    private void allocate(long length) throws IOException {
        while (allocated < length) {
            zeros.clear();
            allocated += channel.write(zeros, allocated);
        }
    }

    /** Cuts the zeros after the last record: a closed file holds its records and nothing else. */
    private void trimAllocation() throws IOException {
        channel.truncate(bytes);
        allocated = bytes;
    }

    private static AuditUnavailableException notAccepting() {
        return new AuditUnavailableException("the audit trail is not accepting records");
    }

    private static AuditUnavailableException notDurable() {
        return new AuditUnavailableException("the audit record could not be made durable");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ScheduledThreadPoolExecutor releasePool() {
        AtomicInteger number = new AtomicInteger();
        ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(RELEASE_THREADS, task -> {
            Thread thread = new Thread(task, "audit-release-" + number.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        return pool;
    }

    /** Fail closed: with SYNC durability, calls are refused from now on rather than answered unrecorded. */
    private void fail(String what, Exception e) {
        broken = true;
        LOG.error("{}: {}; the audit trail accepts no more records until restart", what, e.getClass().getSimpleName());
    }

    /**
     * Appends {@code {"seq":N,"prev":"<hash>",} then the record's fields: byte for byte what Jackson writes for
     * one map of seq, prev and the fields in that order, which is what the verifier hashes and what
     * earlier trails hold (AuditTrailLineFormatTest compares the two).
     */
    static void line(JsonBytes out, long seq, String prev, byte[] fields) {
        out.startObject().name("seq").number(seq).name("prev").string(prev).members(fields).endObject();
    }

    private void openNewFile() throws IOException {
        current = settings.dir().resolve(TrailFiles.logFileName(nextSeq));
        channel = FileChannel.open(current, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        DurableFiles.syncDirectory(settings.dir());
        firstSeq = nextSeq;
        firstPrev = prev;
        records = 0;
        bytes = 0;
        allocated = 0;
        fileHash = sha256();
        openedAt = clock.instant();
    }

    /**
     * Signs the current file's digest and starts a new file. If the HSM cannot sign right now the
     * file simply stays open and grows a little longer: records are still chained and durable.
     */
    private void rotate() {
        try {
            trimAllocation();
            channel.force(true);
            writeDigest(current, firstSeq, nextSeq - 1, records, firstPrev, prev, fileSha256(), false);
        } catch (IOException | RuntimeException e) {
            retrySigningAfter = clock.instant().plusSeconds(10);
            LOG.warn("could not close audit file {} with a signed digest ({}); keeping it open, retrying in 10 s",
                    current.getFileName(), e.getClass().getSimpleName());
            return;
        }
        try {
            channel.close();
            openNewFile();
        } catch (IOException | RuntimeException e) {
            fail("starting a new audit file failed", e);
        }
    }

    private void closeCurrentFile() throws IOException {
        trimAllocation();
        channel.force(true);
        channel.close();
        if (records == 0) {
            Files.delete(current);
            return;
        }
        // If this fails (HSM down at shutdown) the file stays without a digest; the next start signs it.
        writeDigest(current, firstSeq, nextSeq - 1, records, firstPrev, prev, fileSha256(), false);
    }

    /** The open file's SHA-256 so far; the running hash goes on (a failed signature keeps the file open). */
    private String fileSha256() {
        try {
            return HEX.formatHex(((MessageDigest) fileHash.clone()).digest());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    private void writeDigest(Path file, long first, long last, long count, String firstPrevHash, String lastHash,
                             String fileSha256, boolean recovered) throws IOException {
        TrailDigest digest = new TrailDigest(file.getFileName().toString(), first, last, count, firstPrevHash, lastHash,
                fileSha256, previousDigestSha256, publicKeySha256,
                clock.instant().toString(), recovered);
        byte[] signed = digest.signedFile(signer.sign(digest.json().getBytes(StandardCharsets.UTF_8)));
        DurableFiles.writeAtomically(TrailFiles.digestOf(file), signed);
        previousDigestSha256 = TrailFiles.sha256Hex(signed);
    }

    /** Picks the chain up where the last run left it; closes a file a crash left open. */
    private void recover() throws IOException {
        List<Path> files = TrailFiles.logFiles(settings.dir());
        for (Path file : files) {
            Path digest = TrailFiles.digestOf(file);
            if (Files.exists(digest)) {
                byte[] signed = Files.readAllBytes(digest);
                TrailDigest parsed = TrailDigest.parse(new String(signed, StandardCharsets.UTF_8).lines().findFirst().orElse(""));
                nextSeq = parsed.lastSeq() + 1;
                prev = parsed.lastHash();
                previousDigestSha256 = TrailFiles.sha256Hex(signed);
                continue;
            }
            if (!file.equals(files.getLast())) {
                // Only the last file can be open; anything else is for the verifier to report.
                LOG.error("audit file {} has no digest but is not the last file", file.getFileName());
                continue;
            }
            recoverOpenFile(file);
        }
    }

    private void recoverOpenFile(Path file) throws IOException {
        byte[] content = Files.readAllBytes(file);
        // Records are written over zeros: a batch the crash caught half way can have reached the disk only in
        // parts, with zeros between them. What lies beyond the first zero byte was never acknowledged.
        int written = 0;
        while (written < content.length && content[written] != 0) {
            written++;
        }
        int end = 0;
        for (int i = written - 1; i >= 0; i--) {
            if (content[i] == '\n') {
                end = i + 1;
                break;
            }
        }
        if (end < content.length) {
            try (FileChannel torn = FileChannel.open(file, StandardOpenOption.WRITE)) {
                torn.truncate(end);
                torn.force(true);
            }
            int recorded = TrailFiles.recordedLength(content);
            if (recorded > end) {
                LOG.warn("audit file {}: cut {} bytes of records a crash left half written (never acknowledged)",
                        file.getFileName(), recorded - end);
            }
        }
        if (end == 0) {
            Files.delete(file);
            return;
        }
        List<String> lines = new String(content, 0, end, StandardCharsets.UTF_8).lines().toList();
        JsonNode first = TrailFiles.JSON.readTree(lines.getFirst());
        JsonNode last = TrailFiles.JSON.readTree(lines.getLast());
        String lastHash = TrailFiles.sha256Hex(lines.getLast().getBytes(StandardCharsets.UTF_8));
        byte[] kept = end == content.length ? content : Arrays.copyOf(content, end);
        writeDigest(file, first.get("seq").asLong(), last.get("seq").asLong(), lines.size(), first.get("prev").asText(),
                lastHash, TrailFiles.sha256Hex(kept), true);
        nextSeq = last.get("seq").asLong() + 1;
        prev = lastHash;
        LOG.warn("audit file {} was left open by a crash: closed with a digest covering {} records",
                file.getFileName(), lines.size());
    }
}
