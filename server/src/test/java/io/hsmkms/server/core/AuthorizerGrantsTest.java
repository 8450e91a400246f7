package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.policy.ConditionContext;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Grants are the last resort of a decision, and a key may carry 50,000 of them: the harness saw
 * 10,000 grants cut Encrypt from thousands to about 100 calls/s when they were read on every call.
 * They must be read only when no policy allows the request.
 */
class AuthorizerGrantsTest {
    private static final String ACCOUNT = "111122223333";
    private static final String KEY = "arn:hsmkms:kms:local:" + ACCOUNT + ":key/0f8a2c57-3c0e-4b8e-9a61-4a8f0d7a3a21";
    private static final String APP = "arn:hsmkms:iam::" + ACCOUNT + ":role/app";
    private static final PolicyDocument ALLOWS_APP = PolicyParser.parse("{\"Statement\":{\"Effect\":\"Allow\","
            + "\"Principal\":{\"AWS\":\"" + APP + "\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}}",
            PolicyParser.Kind.KEY_POLICY);
    private static final PolicyDocument ALLOWS_NOBODY = PolicyParser.parse("{\"Statement\":{\"Effect\":\"Allow\","
            + "\"Principal\":{\"AWS\":\"arn:hsmkms:iam::" + ACCOUNT + ":role/other\"},\"Action\":\"kms:Encrypt\","
            + "\"Resource\":\"*\"}}", PolicyParser.Kind.KEY_POLICY);

    private final Authorizer authorizer = new Authorizer(IdentityRegistry.empty());
    private final Principal app = new Principal(APP, Map.of(), List.of(), null, false, null, Principal.AuthMethod.TOKEN,
            "127.0.0.1");
    private final Grant grant = new Grant("g-1", UUID.randomUUID(), null, APP, null, Set.of(GrantOperation.ENCRYPT),
            null, null, ACCOUNT, Instant.now());

    @Test
    void allowedByPolicy_grantsAreNeverRead() {
        AtomicInteger reads = new AtomicInteger();

        Authorizer.KeyDecision decision = decide(ALLOWS_APP, counting(reads));

        assertThat(decision.allowed()).isTrue();
        assertThat(decision.grantId()).isNull();
        assertThat(reads).hasValue(0);
    }

    @Test
    void notAllowedByPolicy_grantsAreReadOnce_andTheAllowingGrantIsNamed() {
        AtomicInteger reads = new AtomicInteger();

        Authorizer.KeyDecision decision = decide(ALLOWS_NOBODY, counting(reads));

        assertThat(decision.allowed()).isTrue();
        assertThat(decision.grantId()).isEqualTo("g-1");
        assertThat(reads).hasValue(1);
    }

    private Authorizer.KeyDecision decide(PolicyDocument policy, Supplier<List<Grant>> grants) {
        ConditionContext context = ConditionContext.builder().put("aws:PrincipalArn", APP).put("kms:CallerAccount", ACCOUNT)
                .build();
        return authorizer.decideKeyAction(app, "kms:Encrypt", ACCOUNT, KEY, policy, context, grants, Map.of());
    }

    private Supplier<List<Grant>> counting(AtomicInteger reads) {
        return () -> {
            reads.incrementAndGet();
            return List.of(grant);
        };
    }
}
