package io.hsmkms.server.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The layout of a trail directory, shared by the writer and the verifier. */
final class TrailFiles {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The "prev" of the very first record. */
    static final String GENESIS = "0".repeat(64);
    static final String DIGEST_SUFFIX = ".digest";
    private static final Pattern LOG_FILE = Pattern.compile("audit-\\d{20}\\.jsonl");

    private TrailFiles() {}

    /** Named by the sequence number of their first record, so names sort in trail order. */
    static String logFileName(long firstSeq) {
        return String.format("audit-%020d.jsonl", firstSeq);
    }

    static Path digestOf(Path logFile) {
        return logFile.resolveSibling(logFile.getFileName() + DIGEST_SUFFIX);
    }

    static Path publicKeyFile(Path dir, String fingerprint) {
        return dir.resolve("signing-key-" + fingerprint.substring(0, 16) + ".pem");
    }

    static List<Path> logFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> LOG_FILE.matcher(f.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256(bytes));
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String line(byte[] content, int from, int to) {
        return new String(content, from, to - from, StandardCharsets.UTF_8);
    }

    /** Writes a file so that it is either absent or complete and on disk, never half written. */
    static void writeAtomically(Path target, byte[] content) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (var channel = java.nio.channels.FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(java.nio.ByteBuffer.wrap(content));
            channel.force(true);
        }
        Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(target.getParent());
    }

    static void syncDirectory(Path dir) {
        try (var channel = java.nio.channels.FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Not every file system lets a directory be opened; the rename is still atomic.
        }
    }
}
