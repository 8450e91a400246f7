package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static io.hsmkms.server.testing.Identities.identity;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.hsmkms.proto.v1.AliasListEntry;
import io.hsmkms.proto.v1.CreateAliasRequest;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DeleteAliasRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EnableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ListAliasesRequest;
import io.hsmkms.proto.v1.ListAliasesResponse;
import io.hsmkms.proto.v1.UpdateAliasRequest;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.testing.TokenClients;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AliasApiTest {
    private static final String ROOT = KmsTestServer.ROOT;
    private static final String APP = "arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":role/app";
    private static final String PARTNER = "arn:hsmkms:iam::444455556666:root";
    private static final ByteString DATA = ByteString.copyFromUtf8("aliased");

    @TempDir
    static Path dataDir;
    private static KmsTestServer server;
    private static final TokenClients clients = new TokenClients();

    @BeforeAll
    static void start() {
        server = KmsTestServer.start(dataDir, new KmsServer.Security(
                        new IdentityRegistry(List.of(identity(ROOT), identity(APP), identity(PARTNER)), Map.of()),
                        clients.tokens(), null),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), null);
        clients.connect(server);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void alias_namesItsKeyInCryptoOperationsAndDescribeKey() {
        KeyMetadata key = createKey();
        as(ROOT).createAlias(alias("alias/payments/prod", key.getKeyId()));
        String aliasArn = "arn:hsmkms:kms:" + KmsTestServer.REGION + ":" + KmsTestServer.ACCOUNT + ":alias/payments/prod";

        EncryptResponse byName = as(ROOT).encrypt(encrypt("alias/payments/prod"));
        EncryptResponse byArn = as(ROOT).encrypt(encrypt(aliasArn));

        assertThat(byName.getKeyId()).isEqualTo(key.getArn());
        assertThat(byArn.getKeyId()).isEqualTo(key.getArn());
        assertThat(as(ROOT).describeKey(DescribeKeyRequest.newBuilder().setKeyId("alias/payments/prod").build())
                .getKeyMetadata()).isEqualTo(key);
        assertThat(as(ROOT).decrypt(DecryptRequest.newBuilder().setCiphertextBlob(byName.getCiphertextBlob())
                .setKeyId("alias/payments/prod").build()).getPlaintext()).isEqualTo(DATA);
        assertFails(Code.INVALID_ARGUMENT, "ValidationException",
                () -> as(ROOT).enableKey(EnableKeyRequest.newBuilder().setKeyId("alias/payments/prod").build()));
    }

    @Test
    void updateAlias_repointsNewEncryptions_oldCiphertextsStillDecrypt() {
        KeyMetadata first = createKey();
        KeyMetadata second = createKey();
        as(ROOT).createAlias(alias("alias/rotating", first.getKeyId()));
        ByteString old = as(ROOT).encrypt(encrypt("alias/rotating")).getCiphertextBlob();

        as(ROOT).updateAlias(UpdateAliasRequest.newBuilder().setAliasName("alias/rotating").setTargetKeyId(second.getArn()).build());

        assertThat(as(ROOT).encrypt(encrypt("alias/rotating")).getKeyId()).isEqualTo(second.getArn());
        DecryptRequest decryptOld = DecryptRequest.newBuilder().setCiphertextBlob(old).build();
        assertThat(as(ROOT).decrypt(decryptOld).getKeyId()).isEqualTo(first.getArn());
        assertFails(Code.INVALID_ARGUMENT, "IncorrectKeyException",
                () -> as(ROOT).decrypt(decryptOld.toBuilder().setKeyId("alias/rotating").build()));
    }

    @Test
    void deleteAlias_removesTheNameButNotTheKey() {
        KeyMetadata key = createKey();
        as(ROOT).createAlias(alias("alias/short-lived", key.getKeyId()));

        as(ROOT).deleteAlias(DeleteAliasRequest.newBuilder().setAliasName("alias/short-lived").build());

        assertFails(Code.NOT_FOUND, "NotFoundException", () -> as(ROOT).encrypt(encrypt("alias/short-lived")));
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> as(ROOT).deleteAlias(DeleteAliasRequest.newBuilder().setAliasName("alias/short-lived").build()));
        assertThat(as(ROOT).encrypt(encrypt(key.getKeyId())).getKeyId()).isEqualTo(key.getArn());
    }

    @Test
    void badAliasRequests_failWithTypedErrors_andChangeNothing() {
        KeyMetadata key = createKey();
        as(ROOT).createAlias(alias("alias/taken", key.getKeyId()));

        assertFails(Code.ALREADY_EXISTS, "AlreadyExistsException", () -> as(ROOT).createAlias(alias("alias/taken", createKey().getKeyId())));
        for (String bad : List.of("taken", "alias/", "alias/aws/reserved", "alias/has space", "alias/" + "x".repeat(251), "alias/é")) {
            assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> as(ROOT).createAlias(alias(bad, key.getKeyId())));
        }
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> as(ROOT).createAlias(alias("alias/x", "alias/taken")));
        assertFails(Code.NOT_FOUND, "NotFoundException",
                () -> as(ROOT).createAlias(alias("alias/orphan", "00000000-0000-4000-8000-000000000001")));
        assertFails(Code.NOT_FOUND, "NotFoundException", () -> as(ROOT).updateAlias(UpdateAliasRequest.newBuilder()
                .setAliasName("alias/never").setTargetKeyId(key.getKeyId()).build()));
        assertThat(as(ROOT).describeKey(DescribeKeyRequest.newBuilder().setKeyId("alias/taken").build()).getKeyMetadata().getKeyId())
                .isEqualTo(key.getKeyId());
    }

    @Test
    void listAliases_pagesByName_perAccountAndPerKey() {
        KeyMetadata key = createKey();
        for (String name : List.of("alias/list/c", "alias/list/a", "alias/list/b")) {
            as(ROOT).createAlias(alias(name, key.getKeyId()));
        }

        List<String> names = new ArrayList<>();
        String marker = "";
        do {
            ListAliasesResponse page = as(ROOT).listAliases(ListAliasesRequest.newBuilder().setKeyId(key.getKeyId()).setLimit(2)
                    .setMarker(marker).build());
            page.getAliasesList().forEach(a -> names.add(a.getAliasName()));
            marker = page.getTruncated() ? page.getNextMarker() : null;
        } while (marker != null);

        assertThat(names).containsExactly("alias/list/a", "alias/list/b", "alias/list/c");
        assertThat(as(ROOT).listAliases(ListAliasesRequest.newBuilder().setLimit(100).build()).getAliasesList())
                .extracting(AliasListEntry::getAliasName).contains("alias/list/a");
        AliasListEntry entry = as(ROOT).listAliases(ListAliasesRequest.newBuilder().setKeyId(key.getKeyId()).build()).getAliases(0);
        assertThat(entry.getTargetKeyId()).isEqualTo(key.getKeyId());
        assertThat(entry.getAliasArn()).endsWith(":" + KmsTestServer.ACCOUNT + ":alias/list/a");
        assertThat(as(PARTNER).listAliases(ListAliasesRequest.getDefaultInstance()).getAliasesList()).isEmpty();
        assertFails(Code.NOT_FOUND, "NotFoundException", () -> as(PARTNER).encrypt(encrypt("alias/list/a")));
    }

    @Test
    void requestAliasCondition_allowsUseOnlyThroughTheAlias() {
        String policy = "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + ROOT + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + APP + "\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\","
                + "\"Condition\":{\"StringEquals\":{\"kms:RequestAlias\":\"alias/app-data\"}}}]}";
        KeyMetadata key = as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy).build()).getKeyMetadata();
        as(ROOT).createAlias(alias("alias/app-data", key.getKeyId()));
        as(ROOT).createAlias(alias("alias/other-name", key.getKeyId()));

        assertThat(as(APP).encrypt(encrypt("alias/app-data")).getKeyId()).isEqualTo(key.getArn());
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> as(APP).encrypt(encrypt(key.getKeyId())));
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> as(APP).encrypt(encrypt("alias/other-name")));
    }

    private static KeyMetadata createKey() {
        return as(ROOT).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
    }

    private static CreateAliasRequest alias(String name, String target) {
        return CreateAliasRequest.newBuilder().setAliasName(name).setTargetKeyId(target).build();
    }

    private static EncryptRequest encrypt(String keyId) {
        return EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(DATA).build();
    }

    private static KeyManagementServiceBlockingStub as(String principal) {
        return clients.as(principal);
    }
}
