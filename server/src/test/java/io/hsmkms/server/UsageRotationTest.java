package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ListKeyRotationsRequest;
import io.hsmkms.proto.v1.RotationType;
import io.hsmkms.server.testing.KmsTestServer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A key whose current version reaches the encryption bound is rotated (here the bound is 5). */
class UsageRotationTest {
    private static final long BOUND = 5;

    @TempDir
    static Path dataDir;
    private static KmsTestServer server;
    private static KeyManagementServiceBlockingStub kms;

    @BeforeAll
    static void start() {
        server = KmsTestServer.start(dataDir, new KmsServer.Limits(64 * 1024, BOUND));
        kms = server.kms();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void versionThatReachedTheBound_isRotated_andTheNewVersionStartsCountingAfresh() {
        String id = kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        ByteString first = encrypt(id);
        for (int i = 0; i < 3; i++) {
            encrypt(id);
        }
        server.server().rotateDueKeys();
        assertThat(currentVersion(id)).as("4 encryptions are below the bound").isEqualTo(1);

        kms.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(id).setNumberOfBytes(32).build());
        server.server().rotateDueKeys();

        assertThat(currentVersion(id)).as("data keys count too: 5 reached the bound").isEqualTo(2);
        assertThat(kms.listKeyRotations(ListKeyRotationsRequest.newBuilder().setKeyId(id).build()).getRotations(0)
                .getRotationType()).isEqualTo(RotationType.ROTATION_TYPE_AUTOMATIC);
        assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(first).build()).getPlaintext().toStringUtf8())
                .isEqualTo("counted");
        for (int i = 0; i < 4; i++) {
            encrypt(id);
        }
        server.server().rotateDueKeys();
        assertThat(currentVersion(id)).isEqualTo(2);
        encrypt(id);
        server.server().rotateDueKeys();
        assertThat(currentVersion(id)).isEqualTo(3);
    }

    private static ByteString encrypt(String id) {
        return kms.encrypt(EncryptRequest.newBuilder().setKeyId(id).setPlaintext(ByteString.copyFromUtf8("counted")).build())
                .getCiphertextBlob();
    }

    private static int currentVersion(String id) {
        return kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(id).build()).getKeyMetadata().getCurrentKeyVersion();
    }
}
