package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static io.hsmkms.server.testing.Identities.identity;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status.Code;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.hsmkms.proto.v1.CreateGrantRequest;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EnableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GetKeyPolicyRequest;
import io.hsmkms.proto.v1.GrantConstraints;
import io.hsmkms.proto.v1.GrantOperation;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ListGrantsRequest;
import io.hsmkms.proto.v1.ListKeyPoliciesRequest;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.ListRetirableGrantsRequest;
import io.hsmkms.proto.v1.PutKeyPolicyRequest;
import io.hsmkms.proto.v1.RetireGrantRequest;
import io.hsmkms.proto.v1.RevokeGrantRequest;
import io.hsmkms.server.auth.BearerTokens;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.testing.KmsTestServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Authentication and authorization end to end over gRPC, with bearer tokens, against a real token. */
class AccessControlTest {
    private static final String ACCOUNT = KmsTestServer.ACCOUNT;
    private static final String ROOT = KmsTestServer.ROOT;
    private static final String ADMIN = "arn:hsmkms:iam::" + ACCOUNT + ":user/key-admin";
    private static final String APP = "arn:hsmkms:iam::" + ACCOUNT + ":role/orders-app";
    private static final String AUDITOR = "arn:hsmkms:iam::" + ACCOUNT + ":user/auditor";
    private static final String DEV = "arn:hsmkms:iam::" + ACCOUNT + ":user/dev";
    private static final String CREATOR = "arn:hsmkms:iam::" + ACCOUNT + ":user/creator";
    private static final String MFA_ADMIN = "arn:hsmkms:iam::" + ACCOUNT + ":user/ExampleUser";
    private static final String PARTNER_ACCOUNT = "444455556666";
    private static final String PARTNER = "arn:hsmkms:iam::" + PARTNER_ACCOUNT + ":user/partner";
    private static final Map<String, String> ORDERS = Map.of("app", "orders");
    private static final ByteString DATA = ByteString.copyFromUtf8("order #1001");

    @TempDir
    static Path dataDir;
    private static KmsTestServer server;
    private static BearerTokens tokens;
    private static byte[] tokenKey;

    @BeforeAll
    static void start() {
        tokenKey = new byte[32];
        new SecureRandom().nextBytes(tokenKey);
        tokens = new BearerTokens(tokenKey, Clock.systemUTC());
        IdentityRegistry identities = new IdentityRegistry(List.of(
                identity(ROOT),
                identity(ADMIN),
                identity(APP),
                identity(AUDITOR, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"kms:Describe*\",\"kms:List*\"],"
                        + "\"Resource\":\"*\"}}"),
                identity(DEV, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}}"),
                identity(CREATOR, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:CreateKey\",\"Resource\":\"*\","
                        + "\"Condition\":{\"StringEquals\":{\"kms:KeyOrigin\":\"HSM\"}}}}"),
                identity(MFA_ADMIN),
                identity(PARTNER, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\","
                        + "\"kms:DescribeKey\"],\"Resource\":\"arn:hsmkms:kms:*:" + ACCOUNT + ":key/*\"}}")), Map.of());
        server = KmsTestServer.start(dataDir, new KmsServer.Security(identities, tokens, null),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), null);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void noOrBadCredentials_areUnauthenticated_whileHealthStillAnswers() {
        KeyManagementServiceBlockingStub anonymous = KeyManagementServiceGrpc.newBlockingStub(server.channel());
        assertFails(Code.UNAUTHENTICATED, "UnauthenticatedException",
                () -> anonymous.listKeys(ListKeysRequest.getDefaultInstance()));

        String forged = new BearerTokens(new byte[32], Clock.systemUTC()).issue(ROOT, Duration.ofHours(1), true);
        String expired = new BearerTokens(tokenKey, Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC))
                .issue(ROOT, Duration.ofMinutes(5), false);
        String unknown = tokens.issue("arn:hsmkms:iam::" + ACCOUNT + ":user/nobody", Duration.ofHours(1), false);
        String valid = tokens.issue(ROOT, Duration.ofHours(1), false);
        String[] parts = valid.split("\\.");
        String algNone = "eyJhbGciOiJub25lIn0." + parts[1] + ".";
        for (String header : List.of("Bearer " + forged, "Bearer " + expired, "Bearer " + unknown, "Bearer " + algNone,
                "Bearer garbage", "Basic " + valid)) {
            assertFails(Code.UNAUTHENTICATED, "UnauthenticatedException",
                    () -> withHeader(header).listKeys(ListKeysRequest.getDefaultInstance()));
        }
        assertThat(as(ROOT).listKeys(ListKeysRequest.getDefaultInstance())).isNotNull();

        HealthCheckResponse health = HealthGrpc.newBlockingStub(server.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance());
        assertThat(health.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    }

    @Test
    void leastPrivilege_adminManagesButCannotUse_appOnlyEncryptsWithItsContext_everyoneElseDenied() {
        String policy = """
                {"Version": "2012-10-17", "Statement": [
                  {"Sid": "KeyAdministrators", "Effect": "Allow", "Principal": {"AWS": ["%1$s", "%2$s"]},
                   "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                              "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                              "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
                   "Resource": "*"},
                  {"Sid": "AppEncryptsOrders", "Effect": "Allow", "Principal": {"AWS": "%3$s"},
                   "Action": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
                   "Condition": {"StringEquals": {"kms:EncryptionContext:app": "orders"}}},
                  {"Sid": "DenyEveryoneElse", "Effect": "Deny", "NotPrincipal": {"AWS": ["%1$s", "%2$s", "%3$s"]},
                   "Action": "kms:*", "Resource": "*"}
                ]}""".formatted(ROOT, ADMIN, APP);
        KeyMetadata key = as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy).build()).getKeyMetadata();
        String id = key.getKeyId();

        // The administrator manages the key...
        assertThat(as(ADMIN).describeKey(describe(id)).getKeyMetadata().getKeyId()).isEqualTo(id);
        as(ADMIN).disableKey(DisableKeyRequest.newBuilder().setKeyId(id).build());
        as(ADMIN).enableKey(EnableKeyRequest.newBuilder().setKeyId(id).build());
        assertThat(as(ADMIN).getKeyPolicy(GetKeyPolicyRequest.newBuilder().setKeyId(id).build()).getPolicy()).isEqualTo(policy);

        // ...the application encrypts orders...
        ByteString blob = as(APP).encrypt(encrypt(id, ORDERS)).getCiphertextBlob();

        long hsmCalls = server.hsm().calls();
        // ...and nothing else reaches the HSM.
        assertDenied(() -> as(ADMIN).encrypt(encrypt(id, ORDERS)));
        assertDenied(() -> as(ADMIN).decrypt(decrypt(blob)));
        assertDenied(() -> as(APP).encrypt(encrypt(id, Map.of("app", "billing"))));
        assertDenied(() -> as(APP).encrypt(encrypt(id, Map.of())));
        assertDenied(() -> as(APP).decrypt(decrypt(blob)));
        assertDenied(() -> as(APP).describeKey(describe(id)));
        assertDenied(() -> as(DEV).describeKey(describe(id)));
        assertDenied(() -> as(DEV).decrypt(decrypt(blob)));
        assertDenied(() -> as(AUDITOR).describeKey(describe(id)));
        assertThat(server.hsm().calls()).as("denied requests make no HSM call").isEqualTo(hsmCalls);
    }

    @Test
    void explicitDeny_overridesAnAllow() {
        String policy = policy(allow(ROOT, "\"kms:*\""), allow(APP, "\"kms:*\""),
                "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" + APP + "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}");
        String id = as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy).build()).getKeyMetadata().getKeyId();

        ByteString blob = as(APP).encrypt(encrypt(id, ORDERS)).getCiphertextBlob();

        assertDenied(() -> as(APP).decrypt(decrypt(blob)));
        assertThat(as(ROOT).decrypt(decrypt(blob)).getPlaintext()).isEqualTo(DATA);
    }

    @Test
    void identityPolicies_countOnlyWhereTheKeyPolicyDelegatesToTheAccount() {
        String delegated = as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        String notDelegated = as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy(allow(ADMIN, "\"kms:*\"")))
                .setBypassPolicyLockoutSafetyCheck(true).build()).getKeyMetadata().getKeyId();

        assertThat(as(AUDITOR).describeKey(describe(delegated)).getKeyMetadata().getKeyId()).isEqualTo(delegated);
        assertDenied(() -> as(AUDITOR).encrypt(encrypt(delegated, ORDERS)));
        assertDenied(() -> as(AUDITOR).describeKey(describe(notDelegated)));
        assertDenied(() -> as(APP).describeKey(describe(delegated)));
    }

    @Test
    void grant_allowsAtOnce_constraintMismatchIsDenied_revokeRemovesIt() {
        String id = as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        ByteString blob = as(ROOT).encrypt(encrypt(id, ORDERS)).getCiphertextBlob();
        assertDenied(() -> as(APP).decrypt(decrypt(blob)));

        var grant = as(ROOT).createGrant(CreateGrantRequest.newBuilder().setKeyId(id).setGranteePrincipal(APP)
                .setRetiringPrincipal(ADMIN).addOperations(GrantOperation.GRANT_OPERATION_DECRYPT)
                .addOperations(GrantOperation.GRANT_OPERATION_ENCRYPT)
                .setConstraints(GrantConstraints.newBuilder().putEncryptionContextSubset("APP", "orders")).build());

        assertThat(as(APP).decrypt(decrypt(blob)).getPlaintext()).isEqualTo(DATA);
        assertThat(as(APP).encrypt(encrypt(id, Map.of("app", "orders", "region", "eu"))).getKeyId()).endsWith(id);
        assertDenied(() -> as(APP).encrypt(encrypt(id, Map.of("app", "ORDERS"))));
        assertDenied(() -> as(APP).encrypt(encrypt(id, Map.of())));
        assertDenied(() -> as(APP).describeKey(describe(id)));
        assertThat(as(ROOT).listGrants(ListGrantsRequest.newBuilder().setKeyId(id).build()).getGrantsList())
                .singleElement().satisfies(g -> {
                    assertThat(g.getGrantId()).isEqualTo(grant.getGrantId());
                    assertThat(g.getGranteePrincipal()).isEqualTo(APP);
                    assertThat(g.getConstraints().getEncryptionContextSubsetMap()).isEqualTo(Map.of("APP", "orders"));
                });
        assertThat(as(ROOT).listRetirableGrants(ListRetirableGrantsRequest.newBuilder().setRetiringPrincipal(ADMIN).build())
                .getGrantsList()).extracting(g -> g.getGrantId()).contains(grant.getGrantId());
        // ListRetirableGrants is an account-level action: identity policies decide, and ADMIN has none.
        assertDenied(() -> as(ADMIN).listRetirableGrants(ListRetirableGrantsRequest.getDefaultInstance()));

        as(ROOT).revokeGrant(RevokeGrantRequest.newBuilder().setKeyId(id).setGrantId(grant.getGrantId()).build());

        assertDenied(() -> as(APP).decrypt(decrypt(blob)));
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> as(ROOT).revokeGrant(RevokeGrantRequest.newBuilder().setKeyId(id).setGrantId(grant.getGrantId()).build()));
    }

    @Test
    void retireGrant_byTheRetiringPrincipal_butNotByAGranteeWithoutRetireGrant() {
        String id = as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        CreateGrantRequest request = CreateGrantRequest.newBuilder().setKeyId(id).setGranteePrincipal(APP)
                .setRetiringPrincipal(ADMIN).addOperations(GrantOperation.GRANT_OPERATION_ENCRYPT).setName("orders-writer")
                .build();
        var grant = as(ROOT).createGrant(request);
        assertThat(as(ROOT).createGrant(request).getGrantId()).as("CreateGrant with a Name is idempotent")
                .isEqualTo(grant.getGrantId());
        assertThat(as(ROOT).listGrants(ListGrantsRequest.newBuilder().setKeyId(id).build()).getGrantsCount()).isEqualTo(1);

        assertDenied(() -> as(APP).retireGrant(RetireGrantRequest.newBuilder().setGrantToken(grant.getGrantToken()).build()));
        as(ADMIN).retireGrant(RetireGrantRequest.newBuilder().setGrantToken(grant.getGrantToken()).build());

        assertThat(as(ROOT).listGrants(ListGrantsRequest.newBuilder().setKeyId(id).build()).getGrantsCount()).isZero();
        assertDenied(() -> as(APP).encrypt(encrypt(id, ORDERS)));
        assertFails(Code.INVALID_ARGUMENT, "InvalidGrantTokenException",
                () -> as(ADMIN).retireGrant(RetireGrantRequest.newBuilder().setGrantToken("not-a-token").build()));
    }

    @Test
    void putKeyPolicy_refusesLockout_unlessBypassed_andRejectsMalformedPolicies() {
        String id = as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        String appOnly = policy(allow(APP, "\"kms:*\""));

        assertFails(Code.INVALID_ARGUMENT, "MalformedPolicyDocumentException", () -> as(ROOT).putKeyPolicy(
                PutKeyPolicyRequest.newBuilder().setKeyId(id).setPolicyName("default").setPolicy(appOnly).build()));
        for (String bad : List.of("{", "[]", "{\"Statement\":[]}", policy(allow(APP, "\"s3:GetObject\"")),
                "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\","
                        + "\"Condition\":{\"StringEqualz\":{\"a\":\"b\"}}}}")) {
            assertFails(Code.INVALID_ARGUMENT, "MalformedPolicyDocumentException", () -> as(ROOT).putKeyPolicy(
                    PutKeyPolicyRequest.newBuilder().setKeyId(id).setPolicyName("default").setPolicy(bad).build()));
        }
        assertThat(as(ROOT).listKeyPolicies(ListKeyPoliciesRequest.newBuilder().setKeyId(id).build()).getPolicyNamesList())
                .containsExactly("default");

        as(ROOT).putKeyPolicy(PutKeyPolicyRequest.newBuilder().setKeyId(id).setPolicyName("default").setPolicy(appOnly)
                .setBypassPolicyLockoutSafetyCheck(true).build());

        assertThat(as(APP).getKeyPolicy(GetKeyPolicyRequest.newBuilder().setKeyId(id).build()).getPolicy()).isEqualTo(appOnly);
        assertDenied(() -> as(ROOT).getKeyPolicy(GetKeyPolicyRequest.newBuilder().setKeyId(id).build()));
    }

    @Test
    void multiFactorAuthAge_allowsOnlyRecentMfa() {
        String policy = policy(allow(ROOT, "\"kms:*\""),
                "{\"Sid\":\"MFACriticalKMSEvents\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + MFA_ADMIN + "\"},"
                        + "\"Action\":[\"kms:DisableKey\",\"kms:PutKeyPolicy\"],\"Resource\":\"*\","
                        + "\"Condition\":{\"NumericLessThan\":{\"aws:MultiFactorAuthAge\":\"300\"}}}");
        String id = as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy).build()).getKeyMetadata().getKeyId();
        DisableKeyRequest disable = DisableKeyRequest.newBuilder().setKeyId(id).build();
        String stale = new BearerTokens(tokenKey, Clock.fixed(Instant.now().minus(Duration.ofMinutes(10)), ZoneOffset.UTC))
                .issue(MFA_ADMIN, Duration.ofHours(1), true);

        assertDenied(() -> withToken(tokens.issue(MFA_ADMIN, Duration.ofHours(1), false)).disableKey(disable));
        assertDenied(() -> withToken(stale).disableKey(disable));
        withToken(tokens.issue(MFA_ADMIN, Duration.ofHours(1), true)).disableKey(disable);
    }

    @Test
    void crossAccount_keyPolicyAndTheOtherAccountsIdentityPolicyTogetherAllow() {
        String policy = policy(allow(ROOT, "\"kms:*\""),
                "{\"Sid\":\"Allow an external account to use this key\",\"Effect\":\"Allow\","
                        + "\"Principal\":{\"AWS\":\"" + PARTNER_ACCOUNT + "\"},"
                        + "\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\",\"kms:DescribeKey\"],\"Resource\":\"*\"}");
        KeyMetadata key = as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy).build()).getKeyMetadata();
        String own = as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getArn();

        ByteString blob = as(PARTNER).encrypt(encrypt(key.getArn(), ORDERS)).getCiphertextBlob();

        assertThat(as(PARTNER).decrypt(decrypt(blob)).getPlaintext()).isEqualTo(DATA);
        assertThat(as(PARTNER).describeKey(describe(key.getArn())).getKeyMetadata().getAccountId()).isEqualTo(ACCOUNT);
        assertDenied(() -> as(PARTNER).encrypt(encrypt(own, ORDERS)));
        assertDenied(() -> as(PARTNER).describeKey(describe(key.getKeyId())));
        assertDenied(() -> as(PARTNER).listKeys(ListKeysRequest.getDefaultInstance()));
    }

    @Test
    void createKey_isAuthorizedByIdentityPolicy_withKeyOriginCondition() {
        assertDenied(() -> as(APP).createKey(CreateKeyRequest.getDefaultInstance()));

        KeyMetadata key = as(CREATOR).createKey(CreateKeyRequest.newBuilder()
                .setPolicy(policy(allow(CREATOR, "\"kms:*\""))).build()).getKeyMetadata();

        assertThat(key.getAccountId()).isEqualTo(ACCOUNT);
        assertThat(as(CREATOR).describeKey(describe(key.getKeyId())).getKeyMetadata()).isEqualTo(key);
    }

    @Test
    void unknownKey_isNotFoundOnlyForCallersWhoMayDescribeKeys() {
        String unknown = "00000000-0000-4000-8000-00000000abcd";

        assertFails(Code.NOT_FOUND, "NotFoundException", () -> as(ROOT).describeKey(describe(unknown)));
        assertFails(Code.NOT_FOUND, "NotFoundException", () -> as(AUDITOR).describeKey(describe(unknown)));
        assertDenied(() -> as(APP).describeKey(describe(unknown)));
        assertDenied(() -> as(APP).encrypt(encrypt(unknown, ORDERS)));
    }

    private static void assertDenied(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", call);
    }

    private static KeyManagementServiceBlockingStub as(String principal) {
        return withToken(tokens.issue(principal, Duration.ofHours(1), false));
    }

    private static KeyManagementServiceBlockingStub withToken(String token) {
        return withHeader("Bearer " + token);
    }

    private static KeyManagementServiceBlockingStub withHeader(String authorization) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), authorization);
        return KeyManagementServiceGrpc.newBlockingStub(server.channel())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }


    private static String allow(String principal, String actions) {
        return "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + principal + "\"},\"Action\":" + actions
                + ",\"Resource\":\"*\"}";
    }

    private static String policy(String... statements) {
        return "{\"Version\":\"2012-10-17\",\"Statement\":[" + String.join(",", statements) + "]}";
    }

    private static DescribeKeyRequest describe(String keyId) {
        return DescribeKeyRequest.newBuilder().setKeyId(keyId).build();
    }

    private static EncryptRequest encrypt(String keyId, Map<String, String> context) {
        return EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(DATA).putAllEncryptionContext(context).build();
    }

    private static DecryptRequest decrypt(ByteString blob) {
        return DecryptRequest.newBuilder().setCiphertextBlob(blob).putAllEncryptionContext(ORDERS).build();
    }
}
