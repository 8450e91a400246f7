package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.hsmkms.audit.TrailFiles;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.server.audit.HashChainedFileTrail;
import io.hsmkms.server.grpc.RequestInterceptor;
import io.hsmkms.server.testing.HeldAuditWriter;
import io.hsmkms.server.testing.KmsTestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A unary response waits for its audit record without a thread waiting with it: the record is
 * appended without blocking and the response is released when the trail says it is durable.
 */
class AuditReleaseApiTest {
    private static final int CALLS = 16;

    @TempDir
    Path dataDir;

    @Test
    void unaryResponses_waitForTheirRecords_withoutAThreadParkedPerCall() throws Exception {
        try (KmsTestServer server = KmsTestServer.start(dataDir)) {
            String keyId = createKey(server);
            List<Call> calls = new ArrayList<>();
            CountDownLatch finished = new CountDownLatch(CALLS);
            try (HeldAuditWriter hold = HeldAuditWriter.hold(server.audit())) {
                for (int i = 0; i < CALLS; i++) {
                    calls.add(Call.encrypt(server, keyId, finished));
                }
                // Every call has reached close(): its record waits behind the held writer.
                waitUntil(() -> server.audit().backlog() >= CALLS);

                assertThat(threadsInTheAuditHandOffOnceSettled()).as("no thread waits per call").isEmpty();
                assertThat(finished.await(500, TimeUnit.MILLISECONDS)).as("nothing is answered before it is recorded").isFalse();
                assertThat(calls).allSatisfy(call -> assertThat(call.responses()).hasValue(0));
                assertThat(trailText(dataDir)).doesNotContain("\"eventName\":\"Encrypt\"");
                hold.release();
            }

            assertThat(finished.await(30, TimeUnit.SECONDS)).isTrue();
            String trail = trailText(dataDir);
            assertThat(calls).allSatisfy(call -> {
                assertThat(call.error().get()).isNull();
                assertThat(call.responses()).hasValue(1);
                assertThat(trail).contains("\"requestId\":\"" + call.requestId() + "\"");
            });
        }
    }

    /** One Encrypt in flight; counts what the client receives. */
    record Call(AtomicInteger responses, AtomicReference<Throwable> error, AtomicReference<Metadata> headers,
                        AtomicReference<Metadata> trailers) {
        static Call encrypt(KmsTestServer server, String keyId, CountDownLatch finished) {
            Call call = new Call(new AtomicInteger(), new AtomicReference<>(), new AtomicReference<>(), new AtomicReference<>());
            KeyManagementServiceGrpc.newStub(server.channel()).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(call.headers, call.trailers))
                    .encrypt(EncryptRequest.newBuilder().setKeyId(keyId).putAllEncryptionContext(Map.of("app", "orders"))
                            .setPlaintext(ByteString.copyFromUtf8("held back")).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(EncryptResponse value) {
                            call.responses.incrementAndGet();
                        }

                        @Override
                        public void onError(Throwable t) {
                            call.error.set(t);
                            finished.countDown();
                        }

                        @Override
                        public void onCompleted() {
                            finished.countDown();
                        }
                    });
            return call;
        }

        String requestId() {
            Metadata from = headers.get() != null && headers.get().containsKey(RequestInterceptor.REQUEST_ID)
                    ? headers.get() : trailers.get();
            return from == null ? null : from.get(RequestInterceptor.REQUEST_ID);
        }
    }

    /**
     * Threads inside the request interceptor or a trail's append, where a handler used to wait for
     * its record. Looked at for up to 5 s: a handler may still be on its way out of close().
     */
    private static List<String> threadsInTheAuditHandOffOnceSettled() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<String> threads = threadsInTheAuditHandOff();
        while (!threads.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
            threads = threadsInTheAuditHandOff();
        }
        return threads;
    }

    private static List<String> threadsInTheAuditHandOff() {
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> Arrays.stream(e.getValue()).anyMatch(frame ->
                        frame.getClassName().startsWith(RequestInterceptor.class.getName())
                                || frame.getClassName().equals(HashChainedFileTrail.class.getName())
                                && frame.getMethodName().startsWith("append")))
                .map(e -> e.getKey().getName())
                .toList();
    }

    static String createKey(KmsTestServer server) {
        return server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
    }

    static String trailText(Path dataDir) {
        StringBuilder text = new StringBuilder();
        try {
            for (Path file : TrailFiles.logFiles(KmsTestServer.auditDir(dataDir))) {
                TrailFiles.recordLines(file).forEach(line -> text.append(line).append('\n'));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString();
    }

    static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 30 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
