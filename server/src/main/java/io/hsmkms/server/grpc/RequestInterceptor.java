package io.hsmkms.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hsmkms.server.audit.AuditRecord;
import io.hsmkms.server.audit.AuditTrail;
import io.hsmkms.server.core.CallIds;
import io.hsmkms.server.core.CallNotes;
import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import io.hsmkms.server.core.Principal;
import io.hsmkms.server.observability.BatchingStderrAppender;
import io.hsmkms.server.observability.RequestMetrics;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Gives every call a request id (returned in the {@code x-request-id} header), writes its audit
 * record and one structured log line (method, status, reason, latency; never payloads). A unary
 * response is held back until its audit record is durable: no call is answered as done that the
 * trail does not show, and if the record cannot be written the caller gets an error instead.
 */
public final class RequestInterceptor implements ServerInterceptor {
    public static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
    private static final Logger LOG = LoggerFactory.getLogger(BatchingStderrAppender.REQUEST_LOGGER);
    private static final Set<String> CRYPTO = Set.of("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext");

    private final AuditTrail audit;
    private final RequestMetrics metrics;
    private final Clock clock;

    public RequestInterceptor(AuditTrail audit, RequestMetrics metrics, Clock clock) {
        this.audit = audit;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        RequestContext request = new RequestContext();
        Instant startedAt = clock.instant();
        long started = System.nanoTime();
        String method = call.getMethodDescriptor().getBareMethodName();
        boolean unary = call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY;
        String peer = peerIp(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        java.util.concurrent.atomic.AtomicBoolean recorded = new java.util.concurrent.atomic.AtomicBoolean();
        ServerCall<Q, R> audited = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            private R held;

            @Override
            public void sendHeaders(Metadata responseHeaders) {
                responseHeaders.put(REQUEST_ID, request.requestId());
                super.sendHeaders(responseHeaders);
            }

            @Override
            public void sendMessage(R message) {
                if (unary) {
                    held = message;
                } else {
                    super.sendMessage(message);
                }
            }

            /**
             * The record goes to the trail without waiting (this may be a transport thread); a unary call's
             * response, and any call's status, is released when the trail reports the record durable, by
             * whichever thread completes that (one of the trail's release threads, see HashChainedFileTrail).
             * Not the writer itself: serializing and handing over every response and writing its log line there
             * would put them in the writer's serial section, so every later batch would reach its fsync later,
             * and a console that blocks would stop the whole trail.
             * The cost is one wake-up per written batch, not per call. Nothing else touches the call after
             * close(), so the completion is the only caller of sendMessage and close from then on.
             */
            @Override
            public void close(Status status, Metadata trailers) {
                long micros = (System.nanoTime() - started) / 1_000;
                AuditRecord record = record(request, method, startedAt, peer, status, micros);
                R response = held;
                held = null;
                if (!recorded.compareAndSet(false, true)) {
                    finish(status, trailers, record, null, response, micros); // onCancel has recorded it
                    return;
                }
                long auditStarted = System.nanoTime();
                append(record).whenComplete((ignored, failure) -> {
                    try {
                        if (failure == null) {
                            metrics.auditWrite(System.nanoTime() - auditStarted);
                        }
                        finish(status, trailers, record, failure, response, micros);
                    } catch (RuntimeException | Error e) {
                        // Thrown from here it would only vanish into the stage; the class name says enough, a message
                        // might quote the payload.
                        LOG.error("releasing the answer of {} request {} failed: {}", method, request.requestId(),
                                e.getClass().getSimpleName());
                    }
                });
            }

            /** Releases the call: the held response only if its record is durable, else UNAVAILABLE instead. */
            private void finish(Status status, Metadata trailers, AuditRecord record, Throwable auditFailure, R response,
                                long micros) {
                Status outcome = status;
                Metadata outTrailers = trailers;
                boolean audited = auditFailure == null;
                if (!audited) {
                    StatusRuntimeException refused = StatusMapper.toStatus(
                            new KmsException(ErrorReason.AUDIT_UNAVAILABLE, "The audit trail is unavailable; retry."), request);
                    outcome = refused.getStatus();
                    outTrailers = refused.getTrailers() == null ? new Metadata() : refused.getTrailers();
                }
                metrics.completed(method, audited ? record.outcome().name() : AuditRecord.Outcome.Failed.name(),
                        audited ? java.util.Objects.requireNonNullElse(record.errorReason(), "-")
                                : ErrorReason.AUDIT_UNAVAILABLE.exceptionName(), System.nanoTime() - started);
                if (!outTrailers.containsKey(REQUEST_ID)) {
                    outTrailers.put(REQUEST_ID, request.requestId());
                }
                MDC.put("requestId", request.requestId());
                try {
                    LOG.info("rpc={} principal={} status={} reason={} latencyMicros={}", method, request.principalArn(),
                            outcome.getCode(), request.failure() == null ? "-" : request.failure().exceptionName(), micros);
                } finally {
                    MDC.remove("requestId");
                }
                if (audited && response != null) {
                    super.sendMessage(response);
                }
                super.close(outcome, outTrailers);
            }
        };
        Context context = Context.current().withValue(RequestContext.KEY, request);
        ServerCall.Listener<Q> listener = Contexts.interceptCall(context, audited, headers, next);
        return new io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            /**
             * A stream the client ended (WatchEvents) never reaches close(): record it here. On a transport thread,
             * so without waiting for the record; nobody is left to answer.
             */
            @Override
            public void onCancel() {
                try {
                    if (recorded.compareAndSet(false, true)) {
                        append(record(request, method, startedAt, peer, Status.CANCELLED, (System.nanoTime() - started) / 1_000))
                                .whenComplete((ignored, failure) -> {
                                    if (failure != null) {
                                        LOG.warn("audit record of a cancelled {} call not written: {}", method,
                                                failure.getClass().getSimpleName());
                                    }
                                });
                    }
                } finally {
                    super.onCancel();
                }
            }
        };
    }

    /** Queues the record without waiting; a trail that throws instead of failing the stage still fails closed. */
    private CompletionStage<Void> append(AuditRecord record) {
        try {
            return audit.appendAsync(record);
        } catch (RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    private AuditRecord record(RequestContext request, String method, Instant startedAt, String peer, Status status,
                               long micros) {
        Principal caller = request.principalOrNull();
        CallNotes notes = request.notes();
        ErrorReason failure = request.failure();
        AuditRecord.Outcome outcome;
        String reason = null;
        if (status.isOk() || (status.getCode() == Status.Code.CANCELLED && failure == null && caller != null)) {
            // A cancelled call that had passed authorization was allowed; the client just stopped waiting.
            outcome = AuditRecord.Outcome.Allowed;
        } else if (failure == null) {
            outcome = AuditRecord.Outcome.Failed;
            reason = status.getCode().name();
        } else {
            outcome = outcome(failure);
            reason = failure.exceptionName();
        }
        return new AuditRecord(startedAt, CallIds.next(), AuditRecord.Type.ApiCall, method,
                request.requestId(), caller == null ? null : caller.arn(), caller == null ? null : caller.accountId(),
                caller == null ? null : caller.method().name(), caller != null && caller.sourceIp() != null ? caller.sourceIp() : peer,
                notes.keys().stream().map(k -> new AuditRecord.KeyUse(k.keyId().toString(), k.keyArn(), k.version(),
                        k.encryptionContext())).toList(),
                notes.alias(), CRYPTO.contains(method) ? "SYMMETRIC_DEFAULT" : null, notes.grantId(), outcome, reason,
                micros, null);
    }

    static AuditRecord.Outcome outcome(ErrorReason reason) {
        return switch (reason) {
            case ACCESS_DENIED, UNAUTHENTICATED -> AuditRecord.Outcome.Denied;
            case INTERNAL, HSM_UNAVAILABLE, AUDIT_UNAVAILABLE, DEPENDENCY_TIMEOUT, KEY_UNAVAILABLE, THROTTLING ->
                    AuditRecord.Outcome.Failed;
            default -> AuditRecord.Outcome.Invalid;
        };
    }

    private static String peerIp(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return inet.getAddress().getHostAddress();
        }
        return address == null ? null : address.toString();
    }
}
