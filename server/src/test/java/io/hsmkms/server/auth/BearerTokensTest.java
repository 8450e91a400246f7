package io.hsmkms.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class BearerTokensTest {
    private static final String ALICE = "arn:hsmkms:iam::111122223333:user/alice";
    private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
    private final byte[] key = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private final BearerTokens tokens = new BearerTokens(key, Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void issuedToken_verifiesWithItsClaims() throws Exception {
        BearerTokens.Claims claims = tokens.verify(tokens.issue(ALICE, Duration.ofMinutes(10), true));

        assertThat(claims.subject()).isEqualTo(ALICE);
        assertThat(claims.mfa()).isTrue();
        assertThat(claims.authTime()).isEqualTo(NOW);
        assertThat(claims.expiresAt()).isEqualTo(NOW.plus(Duration.ofMinutes(10)));
    }

    @Test
    void tamperedForgedExpiredOrUnsignedTokens_areRejected() {
        String token = tokens.issue(ALICE, Duration.ofMinutes(10), false);
        String[] parts = token.split("\\.");
        String otherSubject = Base64.getUrlEncoder().withoutPadding().encodeToString(
                new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
                        .replace("alice", "admin").getBytes(StandardCharsets.UTF_8));
        byte[] otherKey = key.clone();
        otherKey[0] ^= 1;

        for (String bad : new String[] {
            parts[0] + "." + otherSubject + "." + parts[2],
            new BearerTokens(otherKey, Clock.fixed(NOW, ZoneOffset.UTC)).issue(ALICE, Duration.ofMinutes(10), false),
            "eyJhbGciOiJub25lIn0." + parts[1] + ".",
            "eyJhbGciOiJIUzUxMiJ9." + parts[1] + "." + parts[2],
            parts[0] + "." + parts[1],
            "",
            "x".repeat(9000)}) {
            assertThatThrownBy(() -> tokens.verify(bad)).isInstanceOf(BearerTokens.InvalidTokenException.class);
        }
        assertThat(tokens.toString()).as("toString never shows the key").doesNotContain(new String(key, StandardCharsets.US_ASCII));
        BearerTokens afterExpiry = new BearerTokens(key, Clock.fixed(NOW.plus(Duration.ofMinutes(12)), ZoneOffset.UTC));
        assertThatThrownBy(() -> afterExpiry.verify(token)).isInstanceOf(BearerTokens.InvalidTokenException.class);
    }

    @Test
    void shortKeys_areRefused() {
        assertThatThrownBy(() -> new BearerTokens(Arrays.copyOf(key, 31), Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
