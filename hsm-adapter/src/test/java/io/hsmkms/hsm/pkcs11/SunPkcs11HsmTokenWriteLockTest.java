package io.hsmkms.hsm.pkcs11;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.hsm.TokenWriteLock;
import io.hsmkms.hsm.testing.SoftHsmToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every write to the token happens while the token write lock shared with other nodes is held, and a write
 * whose lock cannot be had does not happen. The lock here records what the token holds (seen from outside, by
 * pkcs11-tool) when it is taken and when it is let go.
 */
class SunPkcs11HsmTokenWriteLockTest {
    private static SoftHsmToken token;
    private static SunPkcs11Hsm hsm;
    private static final List<String> events = new ArrayList<>();
    private static final AtomicBoolean refuse = new AtomicBoolean();

    @BeforeAll
    static void openToken() {
        token = SoftHsmToken.create();
        hsm = SunPkcs11Hsm.open(token.config(), () -> {
            if (refuse.get()) {
                throw new IllegalStateException("database down");
            }
            events.add("acquired " + labels());
            return () -> events.add("released " + labels());
        });
    }

    @AfterAll
    static void closeToken() {
        if (hsm != null) {
            hsm.close();
        }
        if (token != null) {
            token.close();
        }
    }

    @Test
    void createsAndDestroys_happenWhileTheLockIsHeld() {
        events.clear();
        HsmKeyRef key = hsm.generateAesKey("locked/1");
        hsm.encrypt(key, new byte[12], new byte[0], "x".getBytes(StandardCharsets.UTF_8)); // a use takes no lock
        hsm.destroyKey(key);

        assertThat(events).hasSize(4);
        assertThat(events.get(0)).startsWith("acquired").doesNotContain("locked/1");
        assertThat(events.get(1)).startsWith("released").contains("locked/1");
        assertThat(events.get(2)).startsWith("acquired").contains("locked/1");
        assertThat(events.get(3)).startsWith("released").doesNotContain("locked/1");
    }

    @Test
    void importsAndSigningKeys_takeItToo() {
        events.clear();
        hsm.importAesKey("imported/1", new byte[32]);
        hsm.signer("signing/1");

        assertThat(events).hasSize(4);
        assertThat(events.get(0)).doesNotContain("imported/1");
        assertThat(events.get(1)).startsWith("released").contains("imported/1");
        assertThat(events.get(2)).startsWith("acquired");
        assertThat(events.get(3)).startsWith("released");
    }

    @Test
    void withoutTheLock_nothingIsWritten_andTheCallIsBusy() {
        refuse.set(true);
        try {
            HsmException busy = catchThrowableOfType(HsmException.class, () -> hsm.generateAesKey("refused/1"));
            assertThat(busy.reason()).isEqualTo(HsmException.Reason.BUSY);
            assertThat(busy.getMessage()).doesNotContain("database");
        } finally {
            refuse.set(false);
        }
        assertThat(labels()).doesNotContain("refused/1");
    }

    /** The token's secret-key labels as another process sees them. */
    private static Set<String> labels() {
        return new java.util.TreeSet<>(token.secretKeyLabels());
    }
}
