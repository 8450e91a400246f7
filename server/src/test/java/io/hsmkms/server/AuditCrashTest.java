package io.hsmkms.server;

import static io.hsmkms.server.testing.CrashChecks.stub;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.hsmkms.hsm.testing.SoftHsmTokenExtension;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.audit.AuditVerifier;
import io.hsmkms.server.grpc.RequestInterceptor;
import io.hsmkms.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the real server under load, then a restart: the trail verifies (the torn tail is cut
 * and the file the crash left open is closed with a signed digest), and every call that was
 * answered has its record, because a response is released only after its record is durable.
 */
class AuditCrashTest {
    private static final Pattern REQUEST_ID = Pattern.compile("\"requestId\":\"([0-9a-f-]{36})\"");

    @TempDir
    static Path dataDir;
    @RegisterExtension
    static final SoftHsmTokenExtension tokens = new SoftHsmTokenExtension();

    @Test
    void killUnderLoad_trailVerifies_andEveryAnsweredCallIsInIt() throws Exception {
        List<String> answered = new CopyOnWriteArrayList<>();
        try (ServerProcess first = ServerProcess.start(tokens.get(), dataDir)) {
            String keyId = stub(first).createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService load = Executors.newFixedThreadPool(6);
            for (int t = 0; t < 6; t++) {
                load.submit(() -> {
                    while (running.get()) {
                        AtomicReference<Metadata> headers = new AtomicReference<>();
                        KeyManagementServiceBlockingStub kms = stub(first).withInterceptors(
                                MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()));
                        try {
                            kms.encrypt(EncryptRequest.newBuilder().setKeyId(keyId)
                                    .setPlaintext(ByteString.copyFromUtf8("audited")).build());
                            answered.add(headers.get().get(RequestInterceptor.REQUEST_ID));
                        } catch (RuntimeException e) {
                            return; // the kill
                        }
                    }
                });
            }
            Thread.sleep(2500);
            first.kill();
            running.set(false);
            load.shutdown();
            assertThat(load.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(answered.size()).as("the kill hit a server under load").isGreaterThan(50);

        try (ServerProcess second = ServerProcess.start(tokens.get(), dataDir)) {
            assertThat(second.output()).contains("was left open by a crash");
            stub(second).createKey(CreateKeyRequest.getDefaultInstance());
            second.stop();
        }

        Path trail = dataDir.resolve("audit");
        AuditVerifier.Report report = AuditVerifier.verify(trail, null);
        assertThat(report.problems()).isEmpty();
        assertThat(report.unsignedRecords()).as("a graceful stop signs the last file").isZero();
        Set<String> recorded = new HashSet<>();
        try (Stream<Path> files = Files.list(trail)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).toList()) {
                Matcher m = REQUEST_ID.matcher(Files.readString(file));
                while (m.find()) {
                    recorded.add(m.group(1));
                }
            }
        }
        assertThat(recorded).as("every answered call has its record").containsAll(answered);
        assertThat(report.records()).isGreaterThanOrEqualTo(answered.size());
    }
}
