package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.ListKeyRotationsRequest;
import io.hsmkms.proto.v1.RotationType;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A key whose current version reaches the encryption bound is rotated (here the bound is 5). */
class UsageRotationTest {
    private static final long BOUND = 5;
    private static final KmsServer.Limits LIMITS = new KmsServer.Limits(64 * 1024, BOUND);

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension(LIMITS);

    @Test
    void versionThatReachedTheBound_isRotated_andTheNewVersionStartsCountingAfresh() {
        String id = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        ByteString first = encrypt(id);
        for (int i = 0; i < 3; i++) {
            encrypt(id);
        }
        server.server().rotateDueKeys();
        assertThat(currentVersion(id)).as("4 encryptions are below the bound").isEqualTo(1);

        server.kms().generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(id).setNumberOfBytes(32).build());
        server.server().rotateDueKeys();

        assertThat(currentVersion(id)).as("data keys count too: 5 reached the bound").isEqualTo(2);
        assertThat(server.kms().listKeyRotations(ListKeyRotationsRequest.newBuilder().setKeyId(id).build()).getRotations(0)
                .getRotationType()).isEqualTo(RotationType.ROTATION_TYPE_AUTOMATIC);
        assertThat(server.kms().decrypt(DecryptRequest.newBuilder().setCiphertextBlob(first).build()).getPlaintext().toStringUtf8())
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
        return server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(id).setPlaintext(ByteString.copyFromUtf8("counted")).build())
                .getCiphertextBlob();
    }

    private static int currentVersion(String id) {
        return server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(id).build()).getKeyMetadata().getCurrentKeyVersion();
    }
}
