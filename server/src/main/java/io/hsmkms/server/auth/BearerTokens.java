package io.hsmkms.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signed bearer tokens for development and the CLI: compact JWTs with HS256 only (no algorithm
 * negotiation). Claims: {@code sub} principal ARN, {@code exp} (required), {@code iat},
 * {@code auth_time} and {@code mfa} (for aws:MultiFactorAuthAge). Production callers use mTLS.
 */
public final class BearerTokens {
    public static final int MIN_KEY_BYTES = 32;
    private static final int MAX_TOKEN_LENGTH = 8192;
    private static final Duration CLOCK_SKEW = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HEADER = base64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));

    /** What a valid token says. */
    public record Claims(String subject, Instant expiresAt, Instant authTime, boolean mfa) {}

    /** A token that is malformed, forged, expired or not yet valid; says nothing more. */
    public static final class InvalidTokenException extends Exception {
        InvalidTokenException() {
            super("invalid bearer token", null, false, false);
        }
    }

    private final byte[] key;
    private final Clock clock;

    public BearerTokens(byte[] key, Clock clock) {
        if (key.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("the token signing key must be at least " + MIN_KEY_BYTES + " bytes");
        }
        this.key = key.clone();
        this.clock = clock;
    }

    public String issue(String subject, Duration ttl, boolean mfa) {
        Instant now = clock.instant();
        ObjectNode claims = JSON.createObjectNode()
                .put("sub", subject)
                .put("iat", now.getEpochSecond())
                .put("exp", now.plus(ttl).getEpochSecond())
                .put("auth_time", now.getEpochSecond())
                .put("mfa", mfa);
        String signingInput = HEADER + "." + base64(claims.toString().getBytes(StandardCharsets.UTF_8));
        return signingInput + "." + base64(sign(signingInput));
    }

    public Claims verify(String token) throws InvalidTokenException {
        if (token.length() > MAX_TOKEN_LENGTH) {
            throw new InvalidTokenException();
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw new InvalidTokenException();
        }
        try {
            // Only the exact header we issue: no "alg":"none", no algorithm confusion.
            JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
            if (header == null || !"HS256".equals(header.path("alg").asText()) || header.has("crit")) {
                throw new InvalidTokenException();
            }
            byte[] expected = sign(parts[0] + "." + parts[1]);
            if (!MessageDigest.isEqual(expected, Base64.getUrlDecoder().decode(parts[2]))) {
                throw new InvalidTokenException();
            }
            JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
            if (claims == null || !claims.path("sub").isTextual() || !claims.path("exp").canConvertToLong()) {
                throw new InvalidTokenException();
            }
            Instant now = clock.instant();
            Instant expires = Instant.ofEpochSecond(claims.get("exp").asLong());
            if (now.isAfter(expires.plus(CLOCK_SKEW))) {
                throw new InvalidTokenException();
            }
            if (claims.has("nbf") && now.plus(CLOCK_SKEW).isBefore(Instant.ofEpochSecond(claims.get("nbf").asLong()))) {
                throw new InvalidTokenException();
            }
            Instant authTime = claims.path("auth_time").canConvertToLong()
                    ? Instant.ofEpochSecond(claims.get("auth_time").asLong()) : null;
            return new Claims(claims.get("sub").asText(), expires, authTime, claims.path("mfa").asBoolean(false));
        } catch (IllegalArgumentException | java.io.IOException e) {
            throw new InvalidTokenException();
        }
    }

    private byte[] sign(String signingInput) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    private static String base64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    @Override
    public String toString() {
        return "BearerTokens[HS256, key " + key.length + " bytes]";
    }

    /** Clears the key copy; for tests and shutdown. */
    void destroy() {
        Arrays.fill(key, (byte) 0);
    }
}
