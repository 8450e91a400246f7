package io.hsmkms.server.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Keys are looked up the way IAM matches them, however late the context works them out. */
class ConditionContextTest {
    @Test
    void keyNamesMatchWithoutRegardToCase_exceptAnEncryptionContextKeysOwnName() {
        ConditionContext context = ConditionContext.builder()
                .put("aws:SourceIp", "192.0.2.1")
                .put("kms:EncryptionContext:Tenant", "acme")
                .put("kms:ViaService", null)
                .build();

        assertThat(context.values("AWS:SOURCEIP")).containsExactly("192.0.2.1");
        assertThat(context.values("KMS:ENCRYPTIONCONTEXT:Tenant")).containsExactly("acme");
        assertThat(context.values("kms:EncryptionContext:tenant")).isEmpty();
        assertThat(context.values("kms:ViaService")).as("a null value is no value").isEmpty();
    }

    @Test
    void aLaterKeyOverridesAnEarlierOneThatNamesTheSame() {
        ConditionContext context = ConditionContext.builder()
                .put("aws:PrincipalTag/team", "a")
                .putAll("AWS:PRINCIPALTAG/TEAM", List.of("b", "c"))
                .put("kms:EncryptionContext:k", "1")
                .put("kms:encryptioncontext:k", "2")
                .put("kms:EncryptionContext:K", "3")
                .build();

        assertThat(context.values("aws:principaltag/team")).containsExactly("b", "c");
        assertThat(context.values("kms:EncryptionContext:k")).containsExactly("2");
        assertThat(context.values("kms:EncryptionContext:K")).containsExactly("3");
    }

    @Test
    void whatTheBuilderIsGivenLaterDoesNotChangeABuiltContext() {
        ConditionContext.Builder builder = ConditionContext.builder().put("aws:SourceIp", "192.0.2.1");
        ConditionContext context = builder.build();

        builder.put("aws:SourceIp", "198.51.100.7").put("aws:SecureTransport", "true");

        assertThat(context.values("aws:SourceIp")).containsExactly("192.0.2.1");
        assertThat(context.values("aws:SecureTransport")).isEmpty();
    }
}
