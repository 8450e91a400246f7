package io.hsmkms.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.server.core.Principal;
import io.hsmkms.server.policy.AccessRequest;
import io.hsmkms.server.policy.ConditionContext;
import io.hsmkms.server.policy.Decision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityRegistryTest {
    private static final String KEY = "arn:hsmkms:kms:local:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    @Test
    void theQuickStartIdentitiesFile_loadsAndMeansWhatItSays() {
        IdentityRegistry registry = IdentityRegistry.load(Path.of("..", "bin", "lib", "dev-identities.json"));
        IdentityRegistry.Identity app = registry.bySpiffeId("spiffe://hsmkms.local/app").orElseThrow();
        Principal caller = new Principal(app.arn(), app.tags(), app.groups(), null, false, null, Principal.AuthMethod.MTLS, null);

        assertThat(registry.bySpiffeId("spiffe://hsmkms.local/admin").orElseThrow().arn())
                .isEqualTo("arn:hsmkms:iam::111122223333:root");
        assertThat(app.tags()).containsEntry("team", "quickstart");
        assertThat(registry.evaluate(caller, request(app.arn(), "kms:Encrypt", "quickstart"))).isEqualTo(Decision.ALLOW);
        assertThat(registry.evaluate(caller, request(app.arn(), "kms:Encrypt", "other"))).isEqualTo(Decision.NONE);
        assertThat(registry.evaluate(caller, request(app.arn(), "kms:DisableKey", "quickstart"))).isEqualTo(Decision.NONE);
    }

    @Test
    void groupPolicies_applyToMembers_andDenyWins(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("identities.json");
        Files.writeString(file, """
                {"groups": {"readers": {"policies": [{"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}]},
                            "no-decrypt": {"policies": [{"Statement": {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}}]}},
                 "identities": [
                   {"arn": "arn:hsmkms:iam::111122223333:user/reader", "subject": "CN=reader", "groups": ["readers"]},
                   {"arn": "arn:hsmkms:iam::111122223333:user/blocked", "groups": ["readers", "no-decrypt"]}]}
                """);
        IdentityRegistry registry = IdentityRegistry.load(file);

        assertThat(registry.bySubject("CN=reader")).isPresent();
        assertThat(registry.evaluate(principal("arn:hsmkms:iam::111122223333:user/reader", List.of("readers")),
                request("arn:hsmkms:iam::111122223333:user/reader", "kms:Decrypt", "x"))).isEqualTo(Decision.ALLOW);
        assertThat(registry.evaluate(principal("arn:hsmkms:iam::111122223333:user/blocked", List.of("readers", "no-decrypt")),
                request("arn:hsmkms:iam::111122223333:user/blocked", "kms:Decrypt", "x"))).isEqualTo(Decision.DENY);
    }

    @Test
    void badFiles_failWithAMessageThatNamesTheProblem(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("identities.json");
        for (String[] bad : new String[][] {
            {"{", "not valid JSON"},
            {"{\"identities\": [{\"arn\": \"bob\"}]}", "not a principal ARN"},
            {"{\"identities\": [{\"arn\": \"arn:hsmkms:iam::111122223333:user/a\", \"groups\": [\"x\"]}]}", "unknown group"},
            {"{\"identities\": [{\"arn\": \"arn:hsmkms:iam::111122223333:user/a\", \"policies\": [{\"Statement\": 1}]}]}", "malformed"},
            {"{\"identities\": [{\"arn\": \"arn:hsmkms:iam::111122223333:user/a\", \"colour\": \"red\"}]}", "unknown field"}}) {
            Files.writeString(file, bad[0]);
            assertThatThrownBy(() -> IdentityRegistry.load(file)).hasMessageContaining(bad[1]);
        }
    }

    private static Principal principal(String arn, List<String> groups) {
        return new Principal(arn, Map.of(), groups, null, false, null, Principal.AuthMethod.TOKEN, null);
    }

    private static AccessRequest request(String principal, String action, String app) {
        return new AccessRequest(principal, action, KEY, ConditionContext.builder().put("kms:EncryptionContext:app", app).build());
    }
}
