package io.hsmkms.server.grpc;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.hsmkms.proto.v1.AuditEvent;
import io.hsmkms.proto.v1.WatchEventsRequest;
import io.hsmkms.server.audit.AuditRecord;
import io.hsmkms.server.audit.AuditTrail;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One WatchEvents stream. The trail's writer hands it entries and must never wait, so entries go
 * into a bounded queue that is drained as the client reads; a client that falls more than the
 * queue behind is cut off with RESOURCE_EXHAUSTED rather than slowing the trail or filling memory.
 */
final class EventWatch implements Consumer<AuditTrail.Entry> {
    private static final int BACKLOG = 1_024;
    /** Calls that only read or use keys; left out unless the watcher asks for the data plane. */
    private static final Set<String> DATA_PLANE_AND_READS = Set.of("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "DescribeKey", "ListKeys", "GetKeyPolicy",
            "ListKeyPolicies", "ListGrants", "ListRetirableGrants", "ListAliases", "ListResourceTags",
            "GetKeyRotationStatus", "ListKeyRotations", "GetParametersForImport", "WatchEvents");

    private final ServerCallStreamObserver<AuditEvent> out;
    private final WatchEventsRequest filter;
    private final String accountId;
    private final Executor executor;
    private final BlockingQueue<AuditTrail.Entry> queue = new ArrayBlockingQueue<>(BACKLOG);
    private final AtomicBoolean draining = new AtomicBoolean();
    private volatile boolean overflowed;
    private volatile boolean done;

    EventWatch(ServerCallStreamObserver<AuditEvent> out, WatchEventsRequest filter, String accountId, Executor executor) {
        this.out = out;
        this.filter = filter;
        this.accountId = accountId;
        this.executor = executor;
        out.setOnReadyHandler(this::schedule);
    }

    void stop() {
        done = true;
    }

    @Override
    public void accept(AuditTrail.Entry entry) {
        if (done || !wanted(entry.record())) {
            return;
        }
        if (!queue.offer(entry)) {
            overflowed = true;
        }
        schedule();
    }

    private boolean wanted(AuditRecord record) {
        boolean ours = accountId.equals(record.accountId())
                || record.keys().stream().anyMatch(k -> k.keyArn() != null && accountId.equals(accountOf(k.keyArn())));
        if (!ours) {
            return false;
        }
        if (!filter.getKeyId().isEmpty() && record.keys().stream()
                .noneMatch(k -> filter.getKeyId().equals(k.keyId()) || filter.getKeyId().equals(k.keyArn()))) {
            return false;
        }
        if (!filter.getEventNamesList().isEmpty()) {
            return filter.getEventNamesList().contains(record.eventName());
        }
        return filter.getIncludeDataPlane() || record.eventType() == AuditRecord.Type.ServiceEvent
                || !DATA_PLANE_AND_READS.contains(record.eventName());
    }

    private void schedule() {
        if (draining.compareAndSet(false, true)) {
            executor.execute(this::drain);
        }
    }

    private void drain() {
        try {
            while (!done && out.isReady()) {
                if (overflowed) {
                    done = true;
                    out.onError(Status.RESOURCE_EXHAUSTED
                            .withDescription("The watcher fell more than " + BACKLOG + " events behind; reconnect.")
                            .asRuntimeException());
                    return;
                }
                AuditTrail.Entry entry = queue.poll();
                if (entry == null) {
                    return;
                }
                out.onNext(event(entry));
            }
        } catch (RuntimeException e) {
            done = true; // the call was cancelled under us
        } finally {
            draining.set(false);
            if (!done && (!queue.isEmpty() || overflowed) && out.isReady()) {
                schedule();
            }
        }
    }

    private static AuditEvent event(AuditTrail.Entry entry) {
        AuditRecord record = entry.record();
        AuditEvent.Builder event = AuditEvent.newBuilder()
                .setSeq(entry.seq())
                .setEventName(record.eventName())
                .setEventType(record.eventType().name())
                .setEventTime(Timestamp.newBuilder().setSeconds(record.eventTime().getEpochSecond())
                        .setNanos(record.eventTime().getNano()))
                .setOutcome(record.outcome().name())
                .setRecordJson(entry.line());
        record.keys().stream().filter(k -> k.keyArn() != null).forEach(k -> event.addKeyArns(k.keyArn()));
        if (record.errorReason() != null) {
            event.setErrorReason(record.errorReason());
        }
        return event.build();
    }

    /** arn:hsmkms:kms:REGION:ACCOUNT:key/ID */
    private static String accountOf(String keyArn) {
        String[] parts = keyArn.split(":", 6);
        return parts.length == 6 ? parts[4] : "";
    }
}
