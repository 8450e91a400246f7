package io.hsmkms.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Checks a trail directory: every line follows the one before it (sequence and hash chain), every
 * closed file matches its digest, every digest is signed by a trusted key and follows the digest
 * before it. Says where each break is. Records after the last digest are chained but not yet
 * signed: an edit or truncation there is only detectable once their file is closed.
 */
public final class AuditVerifier {

    /** One break in the trail, located by file and line (0: the file as a whole). */
    public record Problem(String file, long line, String what) {
        @Override
        public String toString() {
            return file + (line > 0 ? ":" + line : "") + ": " + what;
        }
    }

    /**
     * @param unsignedRecords records after the last signed digest (the file still being written)
     * @param trustedKeys     fingerprints (SHA-256 of the encoded public key) of the keys digests were checked against
     */
    public record Report(List<Problem> problems, long records, int files, long unsignedRecords, List<String> trustedKeys,
                         boolean keyPinned) {
        public boolean intact() {
            return problems.isEmpty();
        }

        /** The report for people: one BROKEN line per problem, a summary, then INTACT or NOT INTACT. */
        public List<String> lines() {
            List<String> lines = new ArrayList<>();
            for (Problem problem : problems) {
                lines.add("BROKEN " + problem);
            }
            lines.add(String.format("%d records in %d files; %d after the last signed digest; digests checked against %s %s",
                    records, files, unsignedRecords,
                    keyPinned ? "the pinned key" : "the key(s) stored in the directory (pin one with --public-key)",
                    trustedKeys.stream().map(k -> k.substring(0, 16)).toList()));
            lines.add(intact() ? "INTACT" : "NOT INTACT: " + problems.size() + " problem(s)");
            return lines;
        }
    }

    private AuditVerifier() {}

    /**
     * @param pinned the public key digests must be signed with; null trusts the keys stored in the
     *               directory, which proves the files were not changed by accident but not that a
     *               forger with write access did not replace key and digests together
     */
    public static Report verify(Path dir, PublicKey pinned) throws IOException {
        Map<String, PublicKey> keys = pinned != null
                ? Map.of(TrailFiles.sha256Hex(pinned.getEncoded()), pinned) : keysIn(dir);
        List<Problem> problems = new ArrayList<>();
        List<Path> files = TrailFiles.logFiles(dir);
        String expectedPrev = TrailFiles.GENESIS;
        long expectedSeq = 1;
        String previousDigest = TrailFiles.GENESIS;
        long total = 0;
        long unsigned = 0;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            String name = file.getFileName().toString();
            byte[] content = Files.readAllBytes(file);
            Path digestFile = TrailFiles.digestOf(file);
            boolean open = f == files.size() - 1 && !Files.exists(digestFile);
            // Only the open file may end in the zeros its writer allocated ahead; in a closed one they are a change.
            int length = open ? TrailFiles.recordedLength(content) : content.length;
            List<int[]> lines = lineBounds(content, length);
            if (!lines.isEmpty() && lines.getLast()[1] == length && content[length - 1] != '\n') {
                problems.add(new Problem(name, lines.size(), "the last line is incomplete (truncated in the middle of a record)"));
            }
            String firstPrev = null;
            String lastHash = expectedPrev;
            long firstSeq = -1;
            long lastSeq = -1;
            for (int i = 0; i < lines.size(); i++) {
                String line = TrailFiles.line(content, lines.get(i)[0], lines.get(i)[1]);
                long lineNo = i + 1;
                JsonNode record;
                try {
                    record = TrailFiles.JSON.readTree(line);
                } catch (IOException e) {
                    record = null;
                }
                if (record == null || !record.hasNonNull("seq") || !record.hasNonNull("prev")) {
                    problems.add(new Problem(name, lineNo, "not an audit record (edited or corrupted)"));
                    lastHash = TrailFiles.sha256Hex(line.getBytes(StandardCharsets.UTF_8));
                    expectedPrev = lastHash;
                    expectedSeq++;
                    continue;
                }
                long seq = record.get("seq").asLong();
                String prev = record.get("prev").asText();
                if (firstPrev == null) {
                    firstPrev = prev;
                    firstSeq = seq;
                }
                if (seq != expectedSeq) {
                    problems.add(new Problem(name, lineNo, seq > expectedSeq
                            ? "records " + expectedSeq + ".." + (seq - 1) + " are missing before seq " + seq
                            : "seq " + seq + " is out of order (expected " + expectedSeq + ")"));
                }
                if (!prev.equals(expectedPrev)) {
                    problems.add(new Problem(name, lineNo, "hash chain broken at seq " + seq
                            + ": the record before it was edited, removed or reordered"));
                }
                lastHash = TrailFiles.sha256Hex(line.getBytes(StandardCharsets.UTF_8));
                expectedPrev = lastHash;
                expectedSeq = seq + 1;
                lastSeq = seq;
                total++;
            }
            if (!Files.exists(digestFile)) {
                if (open) {
                    unsigned = lines.size();
                } else {
                    problems.add(new Problem(name, 0, "closed file has no signed digest (removed?)"));
                }
                continue;
            }
            byte[] signed = Files.readAllBytes(digestFile);
            String digestName = digestFile.getFileName().toString();
            List<String> digestLines = new String(signed, StandardCharsets.UTF_8).lines().toList();
            TrailDigest digest;
            try {
                digest = TrailDigest.parse(digestLines.getFirst());
            } catch (IOException | RuntimeException e) {
                problems.add(new Problem(digestName, 0, "not a digest (edited or corrupted)"));
                previousDigest = TrailFiles.sha256Hex(signed);
                continue;
            }
            PublicKey key = keys.get(digest.publicKeySha256());
            if (key == null) {
                problems.add(new Problem(digestName, 0, "signed by a key that is not trusted (" + digest.publicKeySha256() + ")"));
            } else if (digestLines.size() < 2 || !signatureValid(key, digestLines.get(0), digestLines.get(1))) {
                problems.add(new Problem(digestName, 0, "signature does not verify: the digest was edited or forged"));
            }
            if (!digest.file().equals(name)) {
                problems.add(new Problem(digestName, 0, "digest is for " + digest.file() + ", not " + name));
            }
            if (!digest.previousDigestSha256().equals(previousDigest)) {
                problems.add(new Problem(digestName, 0,
                        "does not follow the previous digest: a file and its digest were removed or replaced before this one"));
            }
            if (digest.records() != lines.size() || digest.lastSeq() != lastSeq) {
                problems.add(new Problem(name, 0, "digest covers " + digest.records() + " records up to seq " + digest.lastSeq()
                        + ", the file has " + lines.size() + " up to seq " + lastSeq
                        + (lines.size() < digest.records() ? " (records removed or the file truncated)" : "")));
            }
            if (!digest.fileSha256().equals(TrailFiles.sha256Hex(content))) {
                problems.add(new Problem(name, 0, "content differs from its signed digest (changed after it was closed)"));
            }
            if (!digest.lastHash().equals(lastHash) || (firstPrev != null && !digest.firstPrev().equals(firstPrev))
                    || (firstSeq >= 0 && digest.firstSeq() != firstSeq)) {
                problems.add(new Problem(name, 0, "first or last record differs from the signed digest"));
            }
            // The chain goes on from what was signed, so one edit is reported once, where it is.
            expectedPrev = digest.lastHash();
            expectedSeq = digest.lastSeq() + 1;
            previousDigest = TrailFiles.sha256Hex(signed);
        }
        return new Report(List.copyOf(problems), total, files.size(), unsigned, List.copyOf(keys.keySet()), pinned != null);
    }

    public static PublicKey readPublicKey(Path pem) throws IOException {
        String text = Files.readString(pem, StandardCharsets.US_ASCII)
                .replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "").replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(text)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException("not an EC public key in PEM: " + pem, e);
        }
    }

    private static Map<String, PublicKey> keysIn(Path dir) throws IOException {
        Map<String, PublicKey> keys = new HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path pem : files.filter(p -> p.getFileName().toString().matches("signing-key-[0-9a-f]{16}\\.pem")).toList()) {
                PublicKey key = readPublicKey(pem);
                keys.put(TrailFiles.sha256Hex(key.getEncoded()), key);
            }
        }
        return keys;
    }

    private static boolean signatureValid(PublicKey key, String json, String base64Signature) {
        try {
            Signature verifier = Signature.getInstance("SHA256withECDSA");
            verifier.initVerify(key);
            verifier.update(json.getBytes(StandardCharsets.UTF_8));
            return verifier.verify(Base64.getDecoder().decode(base64Signature));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** [start, end) of each line, without the newline; a last line without one is included. */
    private static List<int[]> lineBounds(byte[] content, int length) {
        List<int[]> bounds = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < length; i++) {
            if (content[i] == '\n') {
                bounds.add(new int[] {start, i});
                start = i + 1;
            }
        }
        if (start < length) {
            bounds.add(new int[] {start, length});
        }
        return bounds;
    }
}
