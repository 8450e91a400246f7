package io.hsmkms.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What closes a log file: its extent, the hash of its last record, the hash of the whole file and
 * the hash of the digest before it (so removing a whole file, digest and all, breaks the chain of
 * digests), signed by the HSM. Stored as two lines: the digest JSON, then the base64 signature
 * over exactly those JSON bytes.
 */
public record TrailDigest(String file, long firstSeq, long lastSeq, long records, String firstPrev, String lastHash,
                   String fileSha256, String previousDigestSha256, String publicKeySha256, String closedAt,
                   boolean recoveredAfterCrash) {

    public String json() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("file", file);
        out.put("firstSeq", firstSeq);
        out.put("lastSeq", lastSeq);
        out.put("records", records);
        out.put("firstPrev", firstPrev);
        out.put("lastHash", lastHash);
        out.put("fileSha256", fileSha256);
        out.put("previousDigestSha256", previousDigestSha256);
        out.put("publicKeySha256", publicKeySha256);
        out.put("closedAt", closedAt);
        out.put("recoveredAfterCrash", recoveredAfterCrash);
        try {
            return TrailFiles.JSON.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public byte[] signedFile(byte[] signature) {
        return (json() + "\n" + Base64.getEncoder().encodeToString(signature) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    public static TrailDigest parse(String json) throws JsonProcessingException {
        JsonNode n = TrailFiles.JSON.readTree(json);
        return new TrailDigest(n.get("file").asText(), n.get("firstSeq").asLong(), n.get("lastSeq").asLong(),
                n.get("records").asLong(), n.get("firstPrev").asText(), n.get("lastHash").asText(),
                n.get("fileSha256").asText(), n.get("previousDigestSha256").asText(), n.get("publicKeySha256").asText(),
                n.get("closedAt").asText(), n.get("recoveredAfterCrash").asBoolean());
    }
}
