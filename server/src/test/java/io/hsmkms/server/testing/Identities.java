package io.hsmkms.server.testing;

import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Identities for tests: a principal ARN and its identity policies as JSON. */
public final class Identities {
    private Identities() {}

    public static IdentityRegistry.Identity identity(String arn, String... identityPolicies) {
        List<PolicyDocument> documents = Arrays.stream(identityPolicies)
                .map(p -> PolicyParser.parse(p, PolicyParser.Kind.IDENTITY_POLICY)).toList();
        return new IdentityRegistry.Identity(arn, null, null, Map.of(), List.of(), null, documents);
    }
}
