package io.hsmkms.server.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyParserTest {
    private static final String VALID = """
            {"Version": "2012-10-17", "Id": "k", "Statement": [
              {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:hsmkms:iam::111122223333:user/a"]},
               "Action": ["kms:Describe*", "kms:Put*"], "Resource": "*"},
              {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:hsmkms:iam::111122223333:role/app"}, "NotAction": "kms:Encrypt",
               "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": ["a*", "b"]},
               "NumericLessThanIfExists": {"aws:MultiFactorAuthAge": 300}, "Bool": {"aws:MultiFactorAuthPresent": true},
               "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::1/128"]}, "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
               "Null": {"kms:ViaService": "true"}}}
            ]}""";

    @Test
    void validPolicy_parsesEveryElement() {
        PolicyDocument document = PolicyParser.parse(VALID, PolicyParser.Kind.KEY_POLICY);

        assertThat(document.json()).isEqualTo(VALID);
        assertThat(document.statements()).hasSize(2);
        Statement admins = document.statements().get(0);
        assertThat(admins.sid()).isEqualTo("Admins");
        assertThat(admins.principals()).containsExactly("arn:hsmkms:iam::111122223333:root",
                "arn:hsmkms:iam::111122223333:user/a");
        Statement deny = document.statements().get(1);
        assertThat(deny.effect()).isEqualTo(Effect.DENY);
        assertThat(deny.notPrincipal()).isTrue();
        assertThat(deny.notAction()).isTrue();
        assertThat(deny.conditions()).hasSize(6)
                .anySatisfy(c -> {
                    assertThat(c.operator()).isEqualTo(ConditionOperator.NUMERIC_LESS_THAN);
                    assertThat(c.ifExists()).isTrue();
                    assertThat(c.values()).containsExactly("300");
                })
                .anySatisfy(c -> {
                    assertThat(c.operator()).isEqualTo(ConditionOperator.STRING_LIKE);
                    assertThat(c.qualifier()).isEqualTo(Condition.Qualifier.FOR_ANY_VALUE);
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "   ", "null", "[]", "\"text\"", "{", "{}", "{\"Statement\": []}", "{\"Statement\": 5}",
        "{\"Version\": \"2020-01-01\", \"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}, \"Extra\": 1}",
        "{\"Statement\": {\"Effect\": \"Permit\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"NotPrincipal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"iam:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": [], \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"bob\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"Service\": \"x\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"someone\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"StringEqualz\": {\"a\": \"b\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"NumericLessThan\": {\"a\": \"ten\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"DateLessThan\": {\"a\": \"tomorrow\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"IpAddress\": {\"a\": \"example.com\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"Bool\": {\"a\": \"yes\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"NullIfExists\": {\"a\": \"true\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"StringEquals\": {}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Condition\": {\"StringEquals\": {\"a\": {\"nested\": 1}}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}} trailing"
    })
    void malformedPolicies_areRejectedCleanly(String policy) {
        assertThatThrownBy(() -> PolicyParser.parse(policy, PolicyParser.Kind.KEY_POLICY))
                .isInstanceOf(MalformedPolicyException.class);
    }

    @Test
    void identityPolicies_mustNotNamePrincipals_keyPoliciesMust() {
        String withPrincipal = "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}";
        String without = "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}";

        assertThatThrownBy(() -> PolicyParser.parse(withPrincipal, PolicyParser.Kind.IDENTITY_POLICY))
                .isInstanceOf(MalformedPolicyException.class);
        assertThat(PolicyParser.parse(without, PolicyParser.Kind.IDENTITY_POLICY).statements()).hasSize(1);
    }

    @Test
    void deepNestingAndHugeDocuments_areRejectedWithoutBlowingUp() {
        String deep = "{\"Statement\": " + "[".repeat(5000) + "]".repeat(5000) + "}";
        String huge = "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": [" + "\"kms:Encrypt\",".repeat(3000)
                + "\"kms:Decrypt\"], \"Resource\": \"*\"}}";
        String justUnder = "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:*\", \"Resource\": \"*\", \"Sid\": \""
                + "x".repeat(PolicyParser.MAX_POLICY_BYTES - 120) + "\"}}";

        assertThatThrownBy(() -> PolicyParser.parse(deep, PolicyParser.Kind.KEY_POLICY)).isInstanceOf(MalformedPolicyException.class);
        assertThatThrownBy(() -> PolicyParser.parse(huge, PolicyParser.Kind.KEY_POLICY)).isInstanceOf(MalformedPolicyException.class);
        assertThat(justUnder.length()).isLessThanOrEqualTo(PolicyParser.MAX_POLICY_BYTES);
        assertThat(PolicyParser.parse(justUnder, PolicyParser.Kind.KEY_POLICY).statements()).hasSize(1);
    }

    /**
     * Property: whatever bytes arrive, the parser either accepts the policy or throws
     * MalformedPolicyException, never anything else (which the service would turn into a 500).
     * Seeded, so a failure reproduces.
     */
    @Test
    void randomMutationsOfValidPolicies_onlyEverParseOrFailAsMalformed() {
        Random random = new Random(20261124L);
        String alphabet = "{}[]\":,*? \\abcdefkmsAWSEffectAllowDenyPrincipalActionResourceCondition0123456789:/-.\u00e9\u0000";
        int accepted = 0;
        int rejected = 0;
        for (int round = 0; round < 20_000; round++) {
            StringBuilder text = new StringBuilder(VALID);
            int edits = 1 + random.nextInt(4);
            for (int e = 0; e < edits && !text.isEmpty(); e++) {
                int at = random.nextInt(text.length());
                switch (random.nextInt(4)) {
                    case 0 -> text.deleteCharAt(at);
                    case 1 -> text.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                    case 2 -> text.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
                    default -> text.delete(at, Math.min(text.length(), at + random.nextInt(20)));
                }
            }
            try {
                PolicyParser.parse(text.toString(), PolicyParser.Kind.KEY_POLICY);
                accepted++;
            } catch (MalformedPolicyException expected) {
                rejected++;
            }
        }
        assertThat(accepted + rejected).isEqualTo(20_000);
        assertThat(rejected).isGreaterThan(1000);
        assertThat(accepted).as("some mutations (e.g. inside a Sid) stay valid").isGreaterThan(0);
    }

    @Test
    void randomJsonValues_onlyEverParseOrFailAsMalformed() {
        Random random = new Random(42);
        for (int round = 0; round < 5_000; round++) {
            String json = randomJson(random, 0);
            try {
                PolicyParser.parse(json, PolicyParser.Kind.KEY_POLICY);
            } catch (MalformedPolicyException expected) {
                // the only acceptable failure
            }
        }
    }

    private static String randomJson(Random random, int depth) {
        List<String> keys = List.of("Version", "Statement", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                "Resource", "Condition", "AWS", "StringEquals", "ForAllValues:StringLike", "Sid", "x");
        int kind = depth > 5 ? random.nextInt(4) : random.nextInt(7);
        return switch (kind) {
            case 0 -> "\"" + List.of("Allow", "Deny", "*", "kms:*", "2012-10-17", "111122223333", "").get(random.nextInt(7)) + "\"";
            case 1 -> Integer.toString(random.nextInt(1000) - 500);
            case 2 -> random.nextBoolean() ? "true" : "null";
            case 3 -> "1e" + random.nextInt(400);
            case 4, 5 -> {
                StringBuilder object = new StringBuilder("{");
                int n = random.nextInt(5);
                for (int i = 0; i < n; i++) {
                    object.append(i > 0 ? "," : "").append('"').append(keys.get(random.nextInt(keys.size()))).append("\":")
                            .append(randomJson(random, depth + 1));
                }
                yield object.append('}').toString();
            }
            default -> {
                StringBuilder array = new StringBuilder("[");
                int n = random.nextInt(4);
                for (int i = 0; i < n; i++) {
                    array.append(i > 0 ? "," : "").append(randomJson(random, depth + 1));
                }
                yield array.append(']').toString();
            }
        };
    }
}
