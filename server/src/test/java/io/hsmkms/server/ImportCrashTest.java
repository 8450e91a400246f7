package io.hsmkms.server;

import static io.hsmkms.server.testing.CrashChecks.MISSING_MATERIAL;
import static io.hsmkms.server.testing.CrashChecks.RECONCILED;
import static io.hsmkms.server.testing.CrashChecks.reportedOrphans;
import static io.hsmkms.server.testing.CrashChecks.stub;
import static io.hsmkms.server.testing.CrashChecks.tokenLabels;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.hsm.testing.SoftHsmTokenExtension;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DeleteImportedKeyMaterialRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.ExpirationModelType;
import io.hsmkms.proto.v1.GetParametersForImportRequest;
import io.hsmkms.proto.v1.GetParametersForImportResponse;
import io.hsmkms.proto.v1.ImportKeyMaterialRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.OriginType;
import io.hsmkms.proto.v1.WrappingAlgorithmSpec;
import io.hsmkms.proto.v1.WrappingKeySpec;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the real server while imported key material is being imported and deleted, then a
 * restart: every answered import or deletion held, each key has at most the one HSM object its
 * metadata names (anything else is a reported orphan), and re-importing the same material brings
 * back every ciphertext.
 */
class ImportCrashTest {
    private static final int KEYS = 4;
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    static Path dataDir;
    @RegisterExtension
    static final SoftHsmTokenExtension tokens = new SoftHsmTokenExtension();

    /** One EXTERNAL key, worked on by one thread, and what the server last confirmed about it. */
    private static final class Subject {
        final byte[] material = new byte[32];
        String id;
        ByteString blob;
        volatile boolean inFlight;
        volatile boolean lastAnsweredImport = true;

        Subject() {
            RANDOM.nextBytes(material);
        }
    }

    @Test
    void killDuringImportsAndDeletions_keepsEveryAnsweredChangeAndTheMaterial() throws Exception {
        List<Subject> subjects = new ArrayList<>();
        AtomicInteger operations = new AtomicInteger();
        try (ServerProcess first = ServerProcess.start(tokens.get(), dataDir)) {
            KeyManagementServiceBlockingStub kms = stub(first);
            for (int i = 0; i < KEYS; i++) {
                Subject subject = new Subject();
                subject.id = kms.createKey(CreateKeyRequest.newBuilder().setOrigin(OriginType.ORIGIN_EXTERNAL).build())
                        .getKeyMetadata().getKeyId();
                importMaterial(kms, subject);
                subject.blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(subject.id)
                        .setPlaintext(ByteString.copyFromUtf8("imported " + subject.id)).build()).getCiphertextBlob();
                subjects.add(subject);
            }
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService load = Executors.newFixedThreadPool(KEYS);
            for (Subject subject : subjects) {
                load.submit(() -> {
                    while (running.get()) {
                        subject.inFlight = true;
                        try {
                            if (subject.lastAnsweredImport) {
                                kms.deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest.newBuilder()
                                        .setKeyId(subject.id).build());
                                subject.lastAnsweredImport = false;
                            } else {
                                importMaterial(kms, subject);
                                subject.lastAnsweredImport = true;
                            }
                            subject.inFlight = false;
                            operations.incrementAndGet();
                        } catch (Exception e) {
                            return; // the kill; inFlight stays true: that operation may or may not have happened
                        }
                    }
                });
            }
            Thread.sleep(3000);
            first.kill();
            running.set(false);
            load.shutdown();
            assertThat(load.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(operations.get()).as("the kill hit a server under load").isGreaterThan(2 * KEYS);

        try (ServerProcess second = ServerProcess.start(tokens.get(), dataDir)) {
            assertThat(second.awaitOutput(RECONCILED, Duration.ofSeconds(60))).isTrue();
            KeyManagementServiceBlockingStub kms = stub(second);
            Set<String> labels = tokenLabels(tokens.get());
            Set<String> orphans = reportedOrphans(second.output());
            for (Subject subject : subjects) {
                KeyState state = kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(subject.id).build())
                        .getKeyMetadata().getKeyState();
                if (!subject.inFlight) {
                    assertThat(state).as("the last answered change to %s held", subject.id).isEqualTo(
                            subject.lastAnsweredImport ? KeyState.KEY_STATE_ENABLED : KeyState.KEY_STATE_PENDING_IMPORT);
                }
                assertThat(state).isIn(KeyState.KEY_STATE_ENABLED, KeyState.KEY_STATE_PENDING_IMPORT);
                long named = labels.stream()
                        .filter(label -> label.startsWith("hsmkms/" + subject.id + "/") && !orphans.contains(label)).count();
                assertThat(named).as("HSM objects of %s that are not reported orphans", subject.id)
                        .isEqualTo(state == KeyState.KEY_STATE_ENABLED ? 1 : 0);
                if (state == KeyState.KEY_STATE_PENDING_IMPORT) {
                    importMaterial(kms, subject);
                }
                assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(subject.blob).build())
                        .getPlaintext().toStringUtf8()).isEqualTo("imported " + subject.id);
            }
            assertThat(second.output()).doesNotContain(MISSING_MATERIAL);
        }
    }

    private static void importMaterial(KeyManagementServiceBlockingStub kms, Subject subject) throws Exception {
        GetParametersForImportResponse parameters = kms.getParametersForImport(GetParametersForImportRequest.newBuilder()
                .setKeyId(subject.id).setWrappingAlgorithm(WrappingAlgorithmSpec.RSAES_OAEP_SHA_256)
                .setWrappingKeySpec(WrappingKeySpec.RSA_2048).build());
        PublicKey publicKey = KeyFactory.getInstance("RSA")
                .generatePublic(new X509EncodedKeySpec(parameters.getPublicKey().toByteArray()));
        Cipher oaep = Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
        oaep.init(Cipher.ENCRYPT_MODE, publicKey,
                new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
        kms.importKeyMaterial(ImportKeyMaterialRequest.newBuilder().setKeyId(subject.id)
                .setImportToken(parameters.getImportToken())
                .setEncryptedKeyMaterial(ByteString.copyFrom(oaep.doFinal(subject.material)))
                .setExpirationModel(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE).build());
    }
}
