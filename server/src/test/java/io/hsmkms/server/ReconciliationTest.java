package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;

import io.grpc.Status;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.server.core.OrphanReconciler;
import com.google.protobuf.ByteString;
import java.util.UUID;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Orphan HSM objects (what a crash between HSM write and metadata write leaves) are found and removed. */
class ReconciliationTest {
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void orphans_areReportedFirst_thenDestroyed_whileRealKeysAndForeignObjectsStay() {
        KeyMetadata key = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
        String real = "hsmkms/" + key.getKeyId() + "/1";
        String orphanKey = "hsmkms/" + UUID.randomUUID() + "/1";
        String orphanVersion = "hsmkms/" + key.getKeyId() + "/2";
        String foreign = "payroll/master-key";
        server.hsm().generateAesKey(orphanKey);
        server.hsm().generateAesKey(orphanVersion);
        server.hsm().generateAesKey(foreign);

        OrphanReconciler.Report first = server.server().reconcile();

        assertThat(first.newOrphans()).containsExactlyInAnyOrder(orphanKey, orphanVersion);
        assertThat(first.destroyed()).isEmpty();
        assertThat(first.missingMaterial()).isEmpty();
        assertThat(server.hsm().listKeyLabels()).contains(orphanKey, orphanVersion);

        OrphanReconciler.Report second = server.server().reconcile();

        assertThat(second.destroyed()).containsExactlyInAnyOrder(orphanKey, orphanVersion);
        assertThat(server.hsm().listKeyLabels()).contains(real, foreign).doesNotContain(orphanKey, orphanVersion);
        assertThat(server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(key.getKeyId())
                .setPlaintext(ByteString.copyFromUtf8("still fine")).build()).getKeyId()).isEqualTo(key.getArn());
        assertThat(server.server().reconcile().newOrphans()).isEmpty();
    }

    @Test
    void metadataNamingMissingMaterial_isReported() {
        KeyMetadata key = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
        String label = "hsmkms/" + key.getKeyId() + "/1";
        server.hsm().destroyKey(new io.hsmkms.hsm.HsmKeyRef(label));

        assertThat(server.server().reconcile().missingMaterial()).contains(label);
    }

    @Test
    void keyWhoseMaterialIsGone_isUnavailable_untilTheHsmServesItAgain() {
        KeyMetadata key = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
        String label = "hsmkms/" + key.getKeyId() + "/1";
        EncryptRequest encrypt = EncryptRequest.newBuilder().setKeyId(key.getKeyId())
                .setPlaintext(ByteString.copyFromUtf8("x")).build();
        server.hsm().destroyKey(new io.hsmkms.hsm.HsmKeyRef(label));

        assertFails(Status.Code.UNAVAILABLE, "KeyUnavailableException", () -> server.kms().encrypt(encrypt));
        assertThat(describe(key).getKeyState()).isEqualTo(KeyState.KEY_STATE_UNAVAILABLE);
        assertThat(describe(key).getEnabled()).as("still enabled: nobody disabled it").isTrue();

        // An operator restores an object under the label (here: new material, as a restore would bring the old).
        server.hsm().generateAesKey(label);
        assertThat(describe(key).getKeyState()).as("not re-checked until used or reconciled")
                .isEqualTo(KeyState.KEY_STATE_UNAVAILABLE);
        server.server().reconcile();
        assertThat(describe(key).getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);
        assertThat(server.kms().encrypt(encrypt).getKeyId()).isEqualTo(key.getArn());
    }

    @Test
    void reconciliationAlone_marksKeysWithMissingMaterialUnavailable() {
        KeyMetadata key = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata();
        server.hsm().destroyKey(new io.hsmkms.hsm.HsmKeyRef("hsmkms/" + key.getKeyId() + "/1"));
        assertThat(describe(key).getKeyState()).isEqualTo(KeyState.KEY_STATE_ENABLED);

        server.server().reconcile();

        assertThat(describe(key).getKeyState()).isEqualTo(KeyState.KEY_STATE_UNAVAILABLE);
    }

    private static KeyMetadata describe(KeyMetadata key) {
        return server.kms().describeKey(DescribeKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()).getKeyMetadata();
    }
}
