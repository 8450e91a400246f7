package io.hsmkms.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The layout of a trail directory, shared by the server's writer, the verifier and the query. Read
 * only: how files are made durable is the writer's business.
 */
public final class TrailFiles {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** The "prev" of the very first record. */
    public static final String GENESIS = "0".repeat(64);
    public static final String DIGEST_SUFFIX = ".digest";
    private static final Pattern LOG_FILE = Pattern.compile("audit-\\d{20}\\.jsonl");

    private TrailFiles() {}

    /** Where the offline tools look by default: $HSMKMS_AUDIT_DIR, else $HSMKMS_DATA_DIR/audit, else data/audit. */
    public static Path defaultDir(Map<String, String> env) {
        String dir = env.get("HSMKMS_AUDIT_DIR");
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        String data = env.get("HSMKMS_DATA_DIR");
        return Path.of(data == null || data.isBlank() ? "data" : data, "audit");
    }

    /** Named by the sequence number of their first record, so names sort in trail order. */
    public static String logFileName(long firstSeq) {
        return String.format("audit-%020d.jsonl", firstSeq);
    }

    public static Path digestOf(Path logFile) {
        return logFile.resolveSibling(logFile.getFileName() + DIGEST_SUFFIX);
    }

    public static Path publicKeyFile(Path dir, String fingerprint) {
        return dir.resolve("signing-key-" + fingerprint.substring(0, 16) + ".pem");
    }

    public static List<Path> logFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> LOG_FILE.matcher(f.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256(bytes));
    }

    public static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * How much of a log file is records: all of it but a run of zero bytes at its end. The writer fills
     * the file it is writing with zeros ahead of its records (so forcing a record to disk need not
     * also write the file's new length); a closed file is cut to its records and has none.
     */
    public static int recordedLength(byte[] content) {
        int end = content.length;
        while (end > 0 && content[end - 1] == 0) {
            end--;
        }
        return end;
    }

    /** A log file's lines, without the zeros at the end of the open one. */
    public static List<String> recordLines(Path file) throws IOException {
        byte[] content = Files.readAllBytes(file);
        return new String(content, 0, recordedLength(content), StandardCharsets.UTF_8).lines().toList();
    }

    public static String line(byte[] content, int from, int to) {
        return new String(content, from, to - from, StandardCharsets.UTF_8);
    }
}
