package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.hsm.testing.SoftHsmTokenExtension;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.server.testing.KmsTestServer;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The real server process, stopped and started again on the same data directory and token. */
class RestartTest {
    private static final String SECRET = "restart-secret-7f3a";

    @TempDir
    static Path dataDir;
    @RegisterExtension
    static final SoftHsmTokenExtension tokens = new SoftHsmTokenExtension();

    @Test
    void ciphertextMadeBeforeARestart_decryptsAfterIt_andMetadataIsKept() throws Exception {
        Map<String, String> context = Map.of("app", "restart");
        KeyMetadata key;
        KeyMetadata disabled;
        ByteString blob;
        String firstLog;
        try (ServerProcess first = ServerProcess.start(tokens.get(), dataDir)) {
            KeyManagementServiceBlockingStub kms = stub(first);
            key = kms.createKey(CreateKeyRequest.newBuilder().setDescription("survives").build()).getKeyMetadata();
            disabled = kms.createKey(CreateKeyRequest.newBuilder().setDescription("stays off").build()).getKeyMetadata();
            kms.disableKey(DisableKeyRequest.newBuilder().setKeyId(disabled.getKeyId()).build());
            blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(key.getKeyId())
                    .setPlaintext(ByteString.copyFromUtf8(SECRET)).putAllEncryptionContext(context).build())
                    .getCiphertextBlob();
            first.stop();
            firstLog = first.output();
        }
        assertThat(Files.isDirectory(dataDir.resolve("metadata"))).isTrue();
        // The launch flags reach the server: without the wrapper export it would quietly use the slower path.
        assertThat(firstLog).contains("AES-GCM path: direct PKCS#11");

        try (ServerProcess second = ServerProcess.start(tokens.get(), dataDir)) {
            KeyManagementServiceBlockingStub kms = stub(second);

            assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).putAllEncryptionContext(context)
                    .build()).getPlaintext().toStringUtf8()).isEqualTo(SECRET);
            assertThat(kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build())
                    .getKeyMetadata()).isEqualTo(key);
            assertThat(kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(disabled.getKeyId()).build())
                    .getKeyMetadata().getKeyState()).isEqualTo(KeyState.KEY_STATE_DISABLED);
            assertThat(kms.listKeys(ListKeysRequest.getDefaultInstance()).getKeysCount()).isEqualTo(2);
            second.stop();
            String logs = firstLog + second.output();
            assertThat(logs).contains("hsmkms listening on").contains("rpc=Decrypt principal=" + KmsTestServer.ROOT + " status=OK");
            assertThat(logs).doesNotContain(SECRET).doesNotContain(Files.readString(Path.of(tokens.get().settings()
                    .get("HSMKMS_PIN_FILE"))));
        }
    }

    private static KeyManagementServiceBlockingStub stub(ServerProcess server) {
        return KeyManagementServiceGrpc.newBlockingStub(server.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
    }
}
