package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static io.hsmkms.server.testing.Identities.identity;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status.Code;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.ListResourceTagsRequest;
import io.hsmkms.proto.v1.ListResourceTagsResponse;
import io.hsmkms.proto.v1.Tag;
import io.hsmkms.proto.v1.TagResourceRequest;
import io.hsmkms.proto.v1.UntagResourceRequest;
import io.hsmkms.proto.v1.UpdateKeyDescriptionRequest;
import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.testing.TokenClients;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TagsApiTest {
    private static final String ROOT = KmsTestServer.ROOT;
    private static final String APP = "arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":role/app";
    private static final String CREATOR = "arn:hsmkms:iam::" + KmsTestServer.ACCOUNT + ":user/creator";

    @TempDir
    static Path dataDir;
    private static KmsTestServer server;
    private static final TokenClients clients = new TokenClients();

    @BeforeAll
    static void start() {
        server = KmsTestServer.start(dataDir, new KmsServer.Security(new IdentityRegistry(List.of(identity(ROOT), identity(APP),
                        identity(CREATOR, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:CreateKey\",\"Resource\":\"*\"}}")),
                        Map.of()), clients.tokens(), null),
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), null);
        clients.connect(server);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void tags_areSetAtCreation_addedOverwrittenRemovedAndListedInOrder() {
        String id = clients.as(ROOT).createKey(CreateKeyRequest.newBuilder().addTags(tag("team", "payments"))
                .addTags(tag("env", "dev")).build()).getKeyMetadata().getKeyId();

        clients.as(ROOT).tagResource(TagResourceRequest.newBuilder().setKeyId(id).addTags(tag("env", "prod"))
                .addTags(tag("cost-center", "42")).build());
        clients.as(ROOT).untagResource(UntagResourceRequest.newBuilder().setKeyId(id).addTagKeys("team")
                .addTagKeys("not-there").build());

        assertThat(tags(id)).containsExactly(Map.entry("cost-center", "42"), Map.entry("env", "prod"));
        ListResourceTagsResponse first = clients.as(ROOT).listResourceTags(
                ListResourceTagsRequest.newBuilder().setKeyId(id).setLimit(1).build());
        assertThat(first.getTruncated()).isTrue();
        assertThat(clients.as(ROOT).listResourceTags(ListResourceTagsRequest.newBuilder().setKeyId(id).setLimit(1)
                .setMarker(first.getNextMarker()).build()).getTags(0).getTagKey()).isEqualTo("env");
    }

    @Test
    void badTags_failAsTagException_andChangeNothing() {
        String id = clients.as(ROOT).createKey(CreateKeyRequest.newBuilder().addTags(tag("keep", "me")).build())
                .getKeyMetadata().getKeyId();
        TagResourceRequest.Builder tooMany = TagResourceRequest.newBuilder().setKeyId(id);
        for (int i = 0; i < 50; i++) {
            tooMany.addTags(tag("t" + i, "v"));
        }

        assertFails(Code.INVALID_ARGUMENT, "TagException", () -> clients.as(ROOT).tagResource(tooMany.build()));
        for (Tag bad : List.of(tag("", "v"), tag("k".repeat(129), "v"), tag("k", "v".repeat(257)), tag("aws:owner", "x"),
                tag("semi;colon", "v"))) {
            assertFails(Code.INVALID_ARGUMENT, "TagException",
                    () -> clients.as(ROOT).tagResource(TagResourceRequest.newBuilder().setKeyId(id).addTags(bad).build()));
        }
        assertFails(Code.INVALID_ARGUMENT, "TagException", () -> clients.as(ROOT).tagResource(TagResourceRequest.newBuilder()
                .setKeyId(id).addTags(tag("dup", "1")).addTags(tag("dup", "2")).build()));

        assertThat(tags(id)).containsExactly(Map.entry("keep", "me"));
    }

    @Test
    void resourceTagCondition_followsTagChangesAtOnce() {
        String policy = "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + ROOT + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + APP + "\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\","
                + "\"Condition\":{\"StringEquals\":{\"aws:ResourceTag/env\":\"dev\"}}}]}";
        String id = clients.as(ROOT).createKey(CreateKeyRequest.newBuilder().setPolicy(policy).addTags(tag("env", "dev")).build())
                .getKeyMetadata().getKeyId();
        EncryptRequest encrypt = EncryptRequest.newBuilder().setKeyId(id).setPlaintext(ByteString.copyFromUtf8("x")).build();

        assertThat(clients.as(APP).encrypt(encrypt).getKeyId()).endsWith(id);

        clients.as(ROOT).tagResource(TagResourceRequest.newBuilder().setKeyId(id).addTags(tag("env", "prod")).build());

        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> clients.as(APP).encrypt(encrypt));
    }

    @Test
    void createKeyWithTags_needsTagResourcePermissionToo() {
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException",
                () -> clients.as(CREATOR).createKey(CreateKeyRequest.newBuilder().addTags(tag("a", "b")).build()));
        assertThat(clients.as(CREATOR).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId()).isNotEmpty();
    }

    @Test
    void updateKeyDescription_changesWhatDescribeKeyShows() {
        KeyMetadata key = clients.as(ROOT).createKey(CreateKeyRequest.newBuilder().setDescription("before").build())
                .getKeyMetadata();

        clients.as(ROOT).updateKeyDescription(UpdateKeyDescriptionRequest.newBuilder().setKeyId(key.getArn())
                .setDescription("after").build());

        assertThat(clients.as(ROOT).describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build())
                .getKeyMetadata().getDescription()).isEqualTo("after");
        assertFails(Code.INVALID_ARGUMENT, "ValidationException", () -> clients.as(ROOT).updateKeyDescription(
                UpdateKeyDescriptionRequest.newBuilder().setKeyId(key.getKeyId()).setDescription("d".repeat(8193)).build()));
        assertFails(Code.PERMISSION_DENIED, "AccessDeniedException", () -> clients.as(APP).updateKeyDescription(
                UpdateKeyDescriptionRequest.newBuilder().setKeyId(key.getKeyId()).setDescription("mine").build()));
    }

    private static Map<String, String> tags(String keyId) {
        Map<String, String> out = new LinkedHashMap<>();
        clients.as(ROOT).listResourceTags(ListResourceTagsRequest.newBuilder().setKeyId(keyId).build()).getTagsList()
                .forEach(t -> out.put(t.getTagKey(), t.getTagValue()));
        return out;
    }

    private static Tag tag(String key, String value) {
        return Tag.newBuilder().setTagKey(key).setTagValue(value).build();
    }
}
