package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.policy.ConditionContext;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** aws:CurrentTime and aws:EpochTime: to the second, and never a second behind the clock. */
class AccessControlTimeTest {
    private static final Principal ALICE = new Principal("arn:hsmkms:iam::111122223333:user/alice", Map.of(), List.of(),
            null, false, null, Principal.AuthMethod.MTLS, null);

    @Test
    void timeKeys_followTheClock_toTheSecond() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-24T10:00:00.987654321Z"));
        AccessControl access = new AccessControl(null, null, null, null, clock(now));

        ConditionContext first = access.base(ALICE).build();
        now.set(Instant.parse("2026-11-24T10:00:00.999999999Z"));
        ConditionContext sameSecond = access.base(ALICE).build();
        now.set(Instant.parse("2026-11-24T10:00:01.000000001Z"));
        ConditionContext nextSecond = access.base(ALICE).build();
        now.set(Instant.parse("2026-11-24T09:59:59Z")); // a clock set back is followed too
        ConditionContext back = access.base(ALICE).build();

        assertThat(first.values("aws:CurrentTime")).containsExactly("2026-11-24T10:00:00Z");
        assertThat(first.values("aws:EpochTime")).containsExactly("1795514400");
        assertThat(sameSecond.values("aws:CurrentTime")).containsExactly("2026-11-24T10:00:00Z");
        assertThat(nextSecond.values("aws:CurrentTime")).containsExactly("2026-11-24T10:00:01Z");
        assertThat(nextSecond.values("aws:EpochTime")).containsExactly("1795514401");
        assertThat(back.values("aws:CurrentTime")).containsExactly("2026-11-24T09:59:59Z");
        assertThat(back.values("aws:EpochTime")).containsExactly("1795514399");
    }

    private static Clock clock(AtomicReference<Instant> now) {
        return new Clock() {
            @Override
            public Instant instant() {
                return now.get();
            }

            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }
        };
    }
}
