package io.hsmkms.server.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Table-driven: one policy, one request, the expected decision. */
class PolicyEvaluationTest {
    private static final String KEY = "arn:hsmkms:kms:local:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    private static final String ALICE = "arn:hsmkms:iam::111122223333:user/alice";
    private static final String BOB = "arn:hsmkms:iam::111122223333:user/bob";
    private static final String ROOT = "arn:hsmkms:iam::111122223333:root";

    static Stream<Arguments> cases() {
        return Stream.of(
                // Principal, Action, Resource
                row("allow by exact principal and action", allow("\"AWS\":\"" + ALICE + "\"", "\"kms:Encrypt\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("other principal gets nothing", allow("\"AWS\":\"" + ALICE + "\"", "\"kms:Encrypt\""),
                        BOB, "kms:Encrypt", ctx(), Decision.NONE),
                row("other action gets nothing", allow("\"AWS\":\"" + ALICE + "\"", "\"kms:Encrypt\""),
                        ALICE, "kms:Decrypt", ctx(), Decision.NONE),
                row("action wildcard kms:Describe*", allow("\"AWS\":\"" + ALICE + "\"", "\"kms:Describe*\""),
                        ALICE, "kms:DescribeKey", ctx(), Decision.ALLOW),
                row("action names are case-insensitive", allow("\"AWS\":\"" + ALICE + "\"", "\"KMS:encrypt\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("? matches one character", allow("\"AWS\":\"" + ALICE + "\"", "\"kms:?ncrypt\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("? does not match two", allow("\"AWS\":\"" + ALICE + "\"", "\"kms:?crypt\""),
                        ALICE, "kms:Decrypt", ctx(), Decision.NONE),
                row("principal * matches everyone", allow("\"AWS\":\"*\"", "\"kms:*\""),
                        BOB, "kms:Decrypt", ctx(), Decision.ALLOW),
                row("account id means the account root", allow("\"AWS\":\"111122223333\"", "\"kms:*\""),
                        ROOT, "kms:PutKeyPolicy", ctx(), Decision.ALLOW),
                row("account root statement does not match a user directly", allow("\"AWS\":\"" + ROOT + "\"", "\"kms:*\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.NONE),
                row("NotAction allows everything else",
                        statement("Allow", "\"Principal\":{\"AWS\":\"" + ALICE + "\"},\"NotAction\":\"kms:Decrypt\",\"Resource\":\"*\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("NotAction excludes the named action",
                        statement("Allow", "\"Principal\":{\"AWS\":\"" + ALICE + "\"},\"NotAction\":\"kms:Decrypt\",\"Resource\":\"*\""),
                        ALICE, "kms:Decrypt", ctx(), Decision.NONE),
                row("resource pattern of another key does not match",
                        statement("Allow", "\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"arn:hsmkms:kms:local:111122223333:key/other\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.NONE),
                row("resource wildcard matches the key",
                        statement("Allow", "\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"arn:hsmkms:kms:*:111122223333:key/*\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                // Deny beats allow
                row("explicit deny overrides allow", policy(
                        stmt("Allow", "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\""),
                        stmt("Deny", "\"Principal\":{\"AWS\":\"" + ALICE + "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"")),
                        ALICE, "kms:Decrypt", ctx(), Decision.DENY),
                row("deny with NotPrincipal spares the named principal", policy(
                        stmt("Allow", "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\""),
                        stmt("Deny", "\"NotPrincipal\":{\"AWS\":[\"" + ALICE + "\",\"" + ROOT + "\"]},\"Action\":\"kms:*\",\"Resource\":\"*\"")),
                        ALICE, "kms:Decrypt", ctx(), Decision.ALLOW),
                row("deny with NotPrincipal hits everyone else", policy(
                        stmt("Allow", "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\""),
                        stmt("Deny", "\"NotPrincipal\":{\"AWS\":[\"" + ALICE + "\",\"" + ROOT + "\"]},\"Action\":\"kms:*\",\"Resource\":\"*\"")),
                        BOB, "kms:Decrypt", ctx(), Decision.DENY),
                // String operators
                row("StringEquals matches exactly", cond("StringEquals", "\"kms:EncryptionContext:AppName\":\"ExampleApp\""),
                        ALICE, "kms:Encrypt", ctx("kms:EncryptionContext:AppName", "ExampleApp"), Decision.ALLOW),
                row("StringEquals is case-sensitive in values", cond("StringEquals", "\"kms:EncryptionContext:AppName\":\"ExampleApp\""),
                        ALICE, "kms:Encrypt", ctx("kms:EncryptionContext:AppName", "exampleapp"), Decision.NONE),
                row("encryption context key part is case-sensitive", cond("StringEquals", "\"kms:EncryptionContext:AppName\":\"x\""),
                        ALICE, "kms:Encrypt", ctx("kms:EncryptionContext:appname", "x"), Decision.NONE),
                row("condition key prefix is case-insensitive", cond("StringEquals", "\"KMS:encryptioncontext:AppName\":\"x\""),
                        ALICE, "kms:Encrypt", ctx("kms:EncryptionContext:AppName", "x"), Decision.ALLOW),
                row("missing key fails StringEquals", cond("StringEquals", "\"kms:EncryptionContext:AppName\":\"x\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.NONE),
                row("missing key passes StringNotEquals", cond("StringNotEquals", "\"kms:EncryptionContext:AppName\":\"x\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("StringNotEquals fails on a listed value", cond("StringNotEquals", "\"aws:PrincipalTag/team\":[\"a\",\"b\"]"),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalTag/team", "b"), Decision.NONE),
                row("multiple values are OR'ed", cond("StringEquals", "\"aws:PrincipalTag/team\":[\"a\",\"b\"]"),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalTag/team", "b"), Decision.ALLOW),
                row("multiple keys are AND'ed", cond("StringEquals", "\"aws:PrincipalTag/team\":\"a\",\"kms:CallerAccount\":\"111122223333\""),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalTag/team", "a"), Decision.NONE),
                row("StringEqualsIgnoreCase", cond("StringEqualsIgnoreCase", "\"aws:PrincipalTag/team\":\"PAYMENTS\""),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalTag/team", "payments"), Decision.ALLOW),
                row("StringNotEqualsIgnoreCase", cond("StringNotEqualsIgnoreCase", "\"aws:PrincipalTag/team\":\"PAYMENTS\""),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalTag/team", "payments"), Decision.NONE),
                row("StringLike with wildcard", cond("StringLike", "\"kms:ViaService\":\"ec2.*.hsmkms.local\""),
                        ALICE, "kms:Encrypt", ctx("kms:ViaService", "ec2.eu-1.hsmkms.local"), Decision.ALLOW),
                row("StringNotLike", cond("StringNotLike", "\"kms:ViaService\":\"ec2.*\""),
                        ALICE, "kms:Encrypt", ctx("kms:ViaService", "ec2.eu-1"), Decision.NONE),
                row("IfExists passes when the key is missing", cond("StringEqualsIfExists", "\"kms:ViaService\":\"ec2\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("IfExists still checks a present key", cond("StringEqualsIfExists", "\"kms:ViaService\":\"ec2\""),
                        ALICE, "kms:Encrypt", ctx("kms:ViaService", "s3"), Decision.NONE),
                // Numeric, date, bool, null, IP, ARN
                row("NumericLessThan holds", cond("NumericLessThan", "\"aws:MultiFactorAuthAge\":\"300\""),
                        ALICE, "kms:PutKeyPolicy", ctx("aws:MultiFactorAuthAge", "299"), Decision.ALLOW),
                row("NumericLessThan fails at the bound", cond("NumericLessThan", "\"aws:MultiFactorAuthAge\":300"),
                        ALICE, "kms:PutKeyPolicy", ctx("aws:MultiFactorAuthAge", "300"), Decision.NONE),
                row("NumericLessThan fails without MFA", cond("NumericLessThan", "\"aws:MultiFactorAuthAge\":\"300\""),
                        ALICE, "kms:PutKeyPolicy", ctx(), Decision.NONE),
                row("NumericGreaterThanEquals", cond("NumericGreaterThanEquals", "\"aws:MultiFactorAuthAge\":\"10\""),
                        ALICE, "kms:Encrypt", ctx("aws:MultiFactorAuthAge", "10"), Decision.ALLOW),
                row("NumericEquals compares numbers not text", cond("NumericEquals", "\"aws:MultiFactorAuthAge\":\"10.0\""),
                        ALICE, "kms:Encrypt", ctx("aws:MultiFactorAuthAge", "10"), Decision.ALLOW),
                row("NumericNotEquals", cond("NumericNotEquals", "\"aws:MultiFactorAuthAge\":\"10\""),
                        ALICE, "kms:Encrypt", ctx("aws:MultiFactorAuthAge", "11"), Decision.ALLOW),
                row("DateLessThan holds before", cond("DateLessThan", "\"aws:CurrentTime\":\"2027-01-01T00:00:00Z\""),
                        ALICE, "kms:Encrypt", ctx("aws:CurrentTime", "2026-11-24T10:00:00Z"), Decision.ALLOW),
                row("DateGreaterThan fails before", cond("DateGreaterThan", "\"aws:CurrentTime\":\"2027-01-01\""),
                        ALICE, "kms:Encrypt", ctx("aws:CurrentTime", "2026-11-24T10:00:00Z"), Decision.NONE),
                row("dates as epoch seconds", cond("DateGreaterThanEquals", "\"aws:CurrentTime\":\"1700000000\""),
                        ALICE, "kms:Encrypt", ctx("aws:CurrentTime", "2026-11-24T10:00:00Z"), Decision.ALLOW),
                row("Bool true", cond("Bool", "\"aws:MultiFactorAuthPresent\":true"),
                        ALICE, "kms:Encrypt", ctx("aws:MultiFactorAuthPresent", "true"), Decision.ALLOW),
                row("Bool false does not match true", cond("Bool", "\"aws:MultiFactorAuthPresent\":\"false\""),
                        ALICE, "kms:Encrypt", ctx("aws:MultiFactorAuthPresent", "true"), Decision.NONE),
                row("Null true: key absent", cond("Null", "\"kms:ViaService\":\"true\""),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("Null true fails when present", cond("Null", "\"kms:ViaService\":\"true\""),
                        ALICE, "kms:Encrypt", ctx("kms:ViaService", "ec2"), Decision.NONE),
                row("Null false: key present", cond("Null", "\"kms:ViaService\":false"),
                        ALICE, "kms:Encrypt", ctx("kms:ViaService", "ec2"), Decision.ALLOW),
                row("IpAddress in CIDR", cond("IpAddress", "\"aws:SourceIp\":\"10.1.0.0/16\""),
                        ALICE, "kms:Encrypt", ctx("aws:SourceIp", "10.1.2.3"), Decision.ALLOW),
                row("IpAddress outside CIDR", cond("IpAddress", "\"aws:SourceIp\":\"10.1.0.0/16\""),
                        ALICE, "kms:Encrypt", ctx("aws:SourceIp", "10.2.2.3"), Decision.NONE),
                row("NotIpAddress", cond("NotIpAddress", "\"aws:SourceIp\":[\"127.0.0.0/8\",\"::1\"]"),
                        ALICE, "kms:Encrypt", ctx("aws:SourceIp", "::1"), Decision.NONE),
                row("IPv6 CIDR", cond("IpAddress", "\"aws:SourceIp\":\"2001:db8::/32\""),
                        ALICE, "kms:Encrypt", ctx("aws:SourceIp", "2001:db8:1::5"), Decision.ALLOW),
                row("ArnLike", cond("ArnLike", "\"aws:PrincipalArn\":\"arn:hsmkms:iam::111122223333:role/app-*\""),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalArn", "arn:hsmkms:iam::111122223333:role/app-web"), Decision.ALLOW),
                row("ArnEquals", cond("ArnEquals", "\"aws:PrincipalArn\":\"" + BOB + "\""),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalArn", ALICE), Decision.NONE),
                row("ArnNotLike", cond("ArnNotLike", "\"aws:PrincipalArn\":\"arn:hsmkms:iam::*:user/*\""),
                        ALICE, "kms:Encrypt", ctx("aws:PrincipalArn", ALICE), Decision.NONE),
                // Set qualifiers on multi-valued keys
                row("ForAnyValue matches one of the keys", cond("ForAnyValue:StringEquals", "\"kms:EncryptionContextKeys\":[\"tenant\"]"),
                        ALICE, "kms:Encrypt", multi("kms:EncryptionContextKeys", "tenant", "order"), Decision.ALLOW),
                row("ForAnyValue on no keys is false", cond("ForAnyValue:StringEquals", "\"kms:EncryptionContextKeys\":[\"tenant\"]"),
                        ALICE, "kms:Encrypt", ctx(), Decision.NONE),
                row("ForAllValues requires every key listed", cond("ForAllValues:StringEquals", "\"kms:EncryptionContextKeys\":[\"tenant\"]"),
                        ALICE, "kms:Encrypt", multi("kms:EncryptionContextKeys", "tenant", "order"), Decision.NONE),
                row("ForAllValues passes when all are listed", cond("ForAllValues:StringLike", "\"kms:EncryptionContextKeys\":[\"tenant\",\"ord*\"]"),
                        ALICE, "kms:Encrypt", multi("kms:EncryptionContextKeys", "tenant", "order"), Decision.ALLOW),
                row("ForAllValues on no keys is true", cond("ForAllValues:StringEquals", "\"kms:EncryptionContextKeys\":[\"tenant\"]"),
                        ALICE, "kms:Encrypt", ctx(), Decision.ALLOW),
                row("ForAnyValue with negated operator", cond("ForAnyValue:StringNotEquals", "\"kms:GrantOperations\":[\"Decrypt\"]"),
                        ALICE, "kms:CreateGrant", multi("kms:GrantOperations", "Decrypt", "Encrypt"), Decision.ALLOW),
                row("ForAllValues with negated operator", cond("ForAllValues:StringNotEquals", "\"kms:GrantOperations\":[\"Decrypt\"]"),
                        ALICE, "kms:CreateGrant", multi("kms:GrantOperations", "Decrypt", "Encrypt"), Decision.NONE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void evaluate(String name, String policy, String principal, String action, ConditionContext context, Decision expected) {
        PolicyDocument document = PolicyParser.parse(policy, PolicyParser.Kind.KEY_POLICY);

        assertThat(document.evaluate(new AccessRequest(principal, action, KEY, context))).isEqualTo(expected);
    }

    private static Arguments row(String name, String policy, String principal, String action, ConditionContext context,
                                 Decision expected) {
        return Arguments.of(name, policy, principal, action, context, expected);
    }

    private static String allow(String principal, String action) {
        return statement("Allow", "\"Principal\":{" + principal + "},\"Action\":" + action + ",\"Resource\":\"*\"");
    }

    private static String cond(String operator, String body) {
        return statement("Allow", "\"Principal\":{\"AWS\":\"" + ALICE + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\","
                + "\"Condition\":{\"" + operator + "\":{" + body + "}}");
    }

    private static String statement(String effect, String body) {
        return policy(stmt(effect, body));
    }

    private static String stmt(String effect, String body) {
        return "{\"Effect\":\"" + effect + "\"," + body + "}";
    }

    private static String policy(String... statements) {
        return "{\"Version\":\"2012-10-17\",\"Statement\":[" + String.join(",", statements) + "]}";
    }

    private static ConditionContext ctx(String... pairs) {
        ConditionContext.Builder builder = ConditionContext.builder();
        for (int i = 0; i < pairs.length; i += 2) {
            builder.put(pairs[i], pairs[i + 1]);
        }
        return builder.build();
    }

    private static ConditionContext multi(String key, String... values) {
        return ConditionContext.builder().putAll(key, List.of(values)).build();
    }
}
