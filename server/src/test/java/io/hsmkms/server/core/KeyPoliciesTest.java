package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.policy.PolicyDocument;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Parsed key policies are shared by text, so the number of keys does not decide how often a policy is parsed. */
class KeyPoliciesTest {
    private static final String ACCOUNT = "111122223333";

    @Test
    void keysWithTheSamePolicyText_shareOneParsedDocument() {
        KeyPolicies policies = new KeyPolicies();
        String text = KeyPolicies.defaultPolicy(ACCOUNT);

        PolicyDocument first = policies.of(key(new String(text)));
        for (int i = 0; i < 20_000; i++) {
            assertThat(policies.of(key(new String(text)))).isSameAs(first);
        }
        assertThat(policies.cachedDocuments()).isEqualTo(1);
    }

    @Test
    void aChangedPolicy_isParsedAfresh_andTheOldTextStillAnswersForOtherKeys() {
        KeyPolicies policies = new KeyPolicies();
        ManagedKey key = key(KeyPolicies.defaultPolicy(ACCOUNT));
        PolicyDocument before = policies.of(key);

        ManagedKey changed = key.withPolicy(KeyPolicies.defaultPolicy("444455556666"));
        PolicyDocument after = policies.of(changed);

        assertThat(after).isNotSameAs(before);
        assertThat(policies.of(changed)).isSameAs(after);
        assertThat(policies.of(key(KeyPolicies.defaultPolicy(ACCOUNT)))).isSameAs(before);
    }

    private static ManagedKey key(String policy) {
        UUID id = UUID.randomUUID();
        Instant now = Instant.parse("2026-12-01T00:00:00Z");
        return new ManagedKey(id, ACCOUNT, now, "", KeyState.ENABLED, KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT,
                KeyOrigin.HSM, List.of(new KeyVersion(1, KeyOperations.hsmLabel(id, 1), now)), policy, Map.of(), null,
                ManagedKey.Rotation.OFF, ManagedKey.Imported.NONE, 0);
    }
}
