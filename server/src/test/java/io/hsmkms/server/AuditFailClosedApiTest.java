package io.hsmkms.server;

import static io.hsmkms.server.AuditReleaseApiTest.createKey;
import static io.hsmkms.server.AuditReleaseApiTest.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.server.AuditReleaseApiTest.Call;
import io.hsmkms.server.testing.KmsTestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fail closed: a call whose record cannot be made durable gets UNAVAILABLE and never its response. */
class AuditFailClosedApiTest {
    @TempDir
    Path dataDir;

    @Test
    void aRecordThatCannotBeWritten_failsTheCallAsUnavailable_withoutItsResponse() throws Exception {
        try (KmsTestServer server = KmsTestServer.start(dataDir)) {
            String keyId = createKey(server);
            Path auditDir = KmsTestServer.auditDir(dataDir);
            Path open = TrailFiles.logFiles(auditDir).getLast();
            // Closing a file by age opens the next with CREATE_NEW; a file already in the way is an I/O failure and
            // the trail fails closed, as it would on a full or failing disk.
            Files.createFile(auditDir.resolve(TrailFiles.logFileName(lastSeq(open) + 1)));
            server.clock().advance(Duration.ofMinutes(16));
            waitUntil(() -> Files.exists(TrailFiles.digestOf(open)));
            CountDownLatch finished = new CountDownLatch(1);

            Call call = Call.encrypt(server, keyId, finished);

            assertThat(finished.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(call.responses()).as("the response is never released").hasValue(0);
            StatusRuntimeException error = (StatusRuntimeException) call.error().get();
            assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(KmsTestServer.reason(error)).isEqualTo("KMSInternalException");
            assertThat(call.requestId()).isNotNull();
        }
    }

    private static long lastSeq(Path file) throws IOException {
        List<String> lines = TrailFiles.recordLines(file);
        return TrailFiles.JSON.readTree(lines.getLast()).get("seq").asLong();
    }
}
