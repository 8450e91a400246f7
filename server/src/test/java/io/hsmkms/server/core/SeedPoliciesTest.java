package io.hsmkms.server.core;

import static io.hsmkms.server.testing.Identities.identity;
import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.policy.ConditionContext;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The example policies of the reference documents (../shared/seeds), with only account numbers,
 * names and the ARN partition changed ("aws" -> "hsmkms", "AWS_KMS" -> "HSM", service names ->
 * hsmkms.local), decided by the real {@link Authorizer}.
 */
class SeedPoliciesTest {
    private static final String ACCOUNT = "111122223333";
    private static final String EXTERNAL = "444455556666";
    private static final String KEY = "arn:hsmkms:kms:us-west-2:" + ACCOUNT + ":key/1234abcd-12ab-34cd-56ef-1234567890ab";
    private static final String ROOT = "arn:hsmkms:iam::" + ACCOUNT + ":root";
    private static final String USER_ROLE = "arn:hsmkms:iam::" + ACCOUNT + ":role/UserRole";
    private static final String EXAMPLE_APP = "arn:hsmkms:iam::" + ACCOUNT + ":role/RoleForExampleApp";
    private static final String EXAMPLE_USER = "arn:hsmkms:iam::" + ACCOUNT + ":user/ExampleUser";
    private static final String KEY_ADMIN = "arn:hsmkms:iam::" + ACCOUNT + ":role/KeyAdmin";
    private static final String EXTERNAL_ROLE = "arn:hsmkms:iam::" + EXTERNAL + ":role/ExampleRole";
    private static final String EXTERNAL_USER = "arn:hsmkms:iam::" + EXTERNAL + ":user/ExampleUser";
    private static final String CI = "arn:hsmkms:iam::" + ACCOUNT + ":user/ci";
    private static final String APP_A = "arn:hsmkms:iam::" + ACCOUNT + ":role/appA";
    private static final String PERSON_1 = "arn:hsmkms:iam::" + ACCOUNT + ":user/person1";
    private static final String INTRUDER = "arn:hsmkms:iam::" + ACCOUNT + ":user/intruder";

    /** Everyone in the account with an identity policy of kms:* (what the DenyEveryoneElse pattern guards against). */
    private static final String KMS_STAR = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}}";

    private final Authorizer authorizer = new Authorizer(new IdentityRegistry(List.of(
            identity(EXTERNAL_ROLE, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\"],"
                    + "\"Resource\":\"arn:hsmkms:kms:us-west-2:" + ACCOUNT + ":key/*\"}}"),
            identity(EXTERNAL_USER),
            identity(INTRUDER, KMS_STAR),
            identity(CI, KMS_STAR),
            identity(EXAMPLE_USER, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:CreateKey\",\"Resource\":\"*\","
                    + "\"Condition\":{\"StringEquals\":{\"kms:KeyOrigin\":\"HSM\"}}}}")), Map.of()));

    @Test
    void ebsUseAndEc2Grants_withViaService() {
        PolicyDocument policy = keyPolicy("""
                {"Sid": "Allow for use of this Key", "Effect": "Allow", "Principal": {"AWS": "%s"},
                 "Action": ["kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt"], "Resource": "*"},
                {"Sid": "Allow for EC2 Use", "Effect": "Allow", "Principal": {"AWS": "%s"},
                 "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
                 "Condition": {"StringEquals": {"kms:ViaService": "ec2.us-west-2.hsmkms.local"}}}
                """.formatted(USER_ROLE, USER_ROLE));

        assertThat(allows(USER_ROLE, null, "kms:Decrypt", policy, c -> { })).isTrue();
        assertThat(allows(USER_ROLE, null, "kms:Encrypt", policy, c -> { })).isFalse();
        assertThat(allows(USER_ROLE, null, "kms:CreateGrant", policy, c -> { })).isFalse();
        assertThat(allows(USER_ROLE, "ec2.us-west-2.hsmkms.local", "kms:CreateGrant", policy, c -> { })).isTrue();
        assertThat(allows(USER_ROLE, "s3.us-west-2.hsmkms.local", "kms:CreateGrant", policy, c -> { })).isFalse();
    }

    @Test
    void exampleApp_encryptionContext() {
        PolicyDocument policy = keyPolicy("""
                {"Effect": "Allow", "Principal": {"AWS": "%s"}, "Action": ["kms:Encrypt", "kms:Decrypt"],
                 "Resource": "*", "Condition": {"StringEquals": {
                   "kms:EncryptionContext:AppName": "ExampleApp", "kms:EncryptionContext:Version": "1.0.24"}}}
                """.formatted(EXAMPLE_APP));

        assertThat(allows(EXAMPLE_APP, null, "kms:Decrypt", policy,
                c -> context(c, Map.of("AppName", "ExampleApp", "Version", "1.0.24")))).isTrue();
        assertThat(allows(EXAMPLE_APP, null, "kms:Decrypt", policy,
                c -> context(c, Map.of("AppName", "ExampleApp", "Version", "1.0.25")))).isFalse();
        assertThat(allows(EXAMPLE_APP, null, "kms:Encrypt", policy, c -> context(c, Map.of("AppName", "ExampleApp"))))
                .isFalse();
    }

    @Test
    void mfaForCriticalKmsEvents() {
        PolicyDocument policy = keyPolicy("""
                {"Sid": "MFACriticalKMSEvents", "Effect": "Allow", "Principal": {"AWS": "%s"},
                 "Action": ["kms:DeleteAlias", "kms:DeleteImportedKeyMaterial", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
                 "Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "300"}}}
                """.formatted(EXAMPLE_USER));

        assertThat(allows(EXAMPLE_USER, null, "kms:PutKeyPolicy", policy, c -> c.put("aws:MultiFactorAuthAge", "120"))).isTrue();
        assertThat(allows(EXAMPLE_USER, null, "kms:PutKeyPolicy", policy, c -> c.put("aws:MultiFactorAuthAge", "301"))).isFalse();
        assertThat(allows(EXAMPLE_USER, null, "kms:PutKeyPolicy", policy, c -> { })).isFalse();
        assertThat(allows(EXAMPLE_USER, null, "kms:Decrypt", policy, c -> c.put("aws:MultiFactorAuthAge", "1"))).isFalse();
    }

    @Test
    void keyAdministratorsAndKeyUsers_areSeparate() {
        PolicyDocument policy = keyPolicy("""
                {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": ["%s"]},
                 "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                            "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                            "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
                 "Resource": "*"},
                {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": ["%s"]},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                 "Resource": "*"}
                """.formatted(KEY_ADMIN, USER_ROLE));

        assertThat(allows(KEY_ADMIN, null, "kms:DisableKey", policy, c -> { })).isTrue();
        assertThat(allows(KEY_ADMIN, null, "kms:PutKeyPolicy", policy, c -> { })).isTrue();
        assertThat(allows(KEY_ADMIN, null, "kms:Decrypt", policy, c -> { })).isFalse();
        assertThat(allows(USER_ROLE, null, "kms:ReEncryptFrom", policy, c -> { })).isTrue();
        assertThat(allows(USER_ROLE, null, "kms:GenerateDataKeyWithoutPlaintext", policy, c -> { })).isTrue();
        assertThat(allows(USER_ROLE, null, "kms:DisableKey", policy, c -> { })).isFalse();
    }

    @Test
    void externalAccount_needsTheKeyPolicyAndItsOwnIdentityPolicy() {
        PolicyDocument policy = keyPolicy("""
                {"Sid": "Allow an external account to use this CMK", "Effect": "Allow",
                 "Principal": {"AWS": ["%s", "%s"]},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                 "Resource": "*"}
                """.formatted(EXTERNAL_ROLE, EXTERNAL_USER));

        assertThat(allows(EXTERNAL_ROLE, null, "kms:Encrypt", policy, c -> { })).isTrue();
        assertThat(allows(EXTERNAL_ROLE, null, "kms:DescribeKey", policy, c -> { }))
                .as("the external account's own identity policy does not allow DescribeKey").isFalse();
        assertThat(allows(EXTERNAL_USER, null, "kms:Encrypt", policy, c -> { }))
                .as("no identity policy in its own account").isFalse();
    }

    @Test
    void keyOriginOnCreateKey() {
        Principal user = principal(EXAMPLE_USER, null);
        ConditionContext hsm = ConditionContext.builder().put("kms:KeyOrigin", "HSM").build();
        ConditionContext external = ConditionContext.builder().put("kms:KeyOrigin", "EXTERNAL").build();

        assertThat(authorizer.allowsAccountAction(user, "kms:CreateKey", ACCOUNT, hsm)).isTrue();
        assertThat(authorizer.allowsAccountAction(user, "kms:CreateKey", ACCOUNT, external)).isFalse();
        assertThat(authorizer.allowsAccountAction(user, "kms:CreateKey", EXTERNAL, hsm)).isFalse();
    }

    @Test
    void denyWithNotPrincipal_overridesIdentityPolicies() {
        PolicyDocument policy = keyPolicy("""
                {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "%1$s"}, "Action": "kms:*",
                 "Resource": "*"},
                {"Sid": "DenyAllButAdmins", "Effect": "Deny", "NotPrincipal": {"AWS": ["%1$s", "%2$s"]},
                 "Action": ["kms:Decrypt", "kms:PutKeyPolicy"], "Resource": "*"}
                """.formatted(ROOT, CI));

        assertThat(allows(CI, null, "kms:Decrypt", policy, c -> { })).isTrue();
        assertThat(allows(INTRUDER, null, "kms:Encrypt", policy, c -> { })).as("delegated through the root").isTrue();
        assertThat(allows(INTRUDER, null, "kms:Decrypt", policy, c -> { })).isFalse();
        assertThat(allows(INTRUDER, null, "kms:PutKeyPolicy", policy, c -> { })).isFalse();
    }

    @Test
    void leastPrivilegePolicy_withDenyEveryoneElse() {
        PolicyDocument policy = keyPolicy("""
                {"Sid": "AllowRestrictedAdministerResource", "Effect": "Allow", "Principal": {"AWS": ["%1$s", "%3$s"]},
                 "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                            "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                            "kms:CancelKeyDeletion"], "Resource": "*"},
                {"Sid": "AllowReadData", "Effect": "Allow", "Principal": {"AWS": ["%2$s", "%3$s"]},
                 "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
                {"Sid": "AllowWriteData", "Effect": "Allow", "Principal": {"AWS": ["%2$s", "%3$s"]},
                 "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*"},
                {"Sid": "DenyEveryoneElse", "Effect": "Deny", "NotPrincipal": {"AWS": ["%1$s", "%2$s", "%3$s", "%4$s"]},
                 "Action": "kms:*", "Resource": "*"}
                """.formatted(CI, APP_A, PERSON_1, ROOT));

        assertThat(allows(CI, null, "kms:PutKeyPolicy", policy, c -> { })).isTrue();
        assertThat(allows(CI, null, "kms:Decrypt", policy, c -> { })).as("ci administers, even with kms:* in IAM").isFalse();
        assertThat(allows(APP_A, null, "kms:Encrypt", policy, c -> { })).isTrue();
        assertThat(allows(APP_A, null, "kms:Decrypt", policy, c -> { })).isTrue();
        assertThat(allows(APP_A, null, "kms:DisableKey", policy, c -> { })).isFalse();
        assertThat(allows(PERSON_1, null, "kms:ScheduleKeyDeletion", policy, c -> { })).isTrue();
        assertThat(allows(PERSON_1, null, "kms:Decrypt", policy, c -> { })).isTrue();
        assertThat(allows(INTRUDER, null, "kms:DescribeKey", policy, c -> { })).isFalse();
    }

    private boolean allows(String principalArn, String viaService, String action, PolicyDocument policy,
                           Consumer<ConditionContext.Builder> keys) {
        Principal caller = principal(principalArn, viaService);
        ConditionContext.Builder context = ConditionContext.builder()
                .put("aws:PrincipalArn", principalArn)
                .put("kms:CallerAccount", caller.accountId())
                .put("kms:ViaService", viaService);
        keys.accept(context);
        return authorizer.allowsKeyAction(caller, action, ACCOUNT, KEY, policy, context.build(), List.of(), Map.of());
    }

    private static void context(ConditionContext.Builder builder, Map<String, String> encryptionContext) {
        encryptionContext.forEach((k, v) -> builder.put("kms:EncryptionContext:" + k, v));
        builder.putAll("kms:EncryptionContextKeys", new ArrayList<>(encryptionContext.keySet()));
    }

    private static Principal principal(String arn, String viaService) {
        return new Principal(arn, Map.of(), List.of(), viaService, false, Instant.now(), Principal.AuthMethod.TOKEN, null);
    }

    private static PolicyDocument keyPolicy(String statements) {
        return PolicyParser.parse("{\"Version\": \"2012-10-17\", \"Statement\": [" + statements + "]}",
                PolicyParser.Kind.KEY_POLICY);
    }

}
