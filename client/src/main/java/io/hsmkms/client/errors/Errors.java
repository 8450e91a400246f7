package io.hsmkms.client.errors;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;

/** The one place that turns a gRPC failure into the typed exception the client's callers see. */
public final class Errors {
    /** The domain the server puts in every ErrorInfo; other domains' reasons are not ours to interpret. */
    public static final String DOMAIN = "hsmkms.io";
    public static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

    @FunctionalInterface
    private interface Factory {
        KmsException create(Status.Code code, String requestId, String message, Throwable cause);
    }

    private static final Map<String, Factory> BY_REASON = Map.ofEntries(
            Map.entry("UnauthenticatedException", UnauthenticatedException::new),
            Map.entry("AccessDeniedException", AccessDeniedException::new),
            Map.entry("AlreadyExistsException", AlreadyExistsException::new),
            Map.entry("TagException", TagException::new),
            Map.entry("MalformedPolicyDocumentException", MalformedPolicyDocumentException::new),
            Map.entry("LimitExceededException", LimitExceededException::new),
            Map.entry("InvalidGrantTokenException", InvalidGrantTokenException::new),
            Map.entry("ValidationException", ValidationException::new),
            Map.entry("NotFoundException", NotFoundException::new),
            Map.entry("DisabledException", DisabledException::new),
            Map.entry("KMSInvalidStateException", KmsInvalidStateException::new),
            Map.entry("UnsupportedOperationException", UnsupportedOperationException::new),
            Map.entry("InvalidImportTokenException", InvalidImportTokenException::new),
            Map.entry("IncorrectKeyMaterialException", IncorrectKeyMaterialException::new),
            Map.entry("InvalidCiphertextException", InvalidCiphertextException::new),
            Map.entry("IncorrectKeyException", IncorrectKeyException::new),
            Map.entry("InvalidKeyUsageException", InvalidKeyUsageException::new),
            Map.entry("ThrottlingException", ThrottlingException::new),
            Map.entry("DependencyTimeoutException", DependencyTimeoutException::new),
            Map.entry("KeyUnavailableException", KeyUnavailableException::new),
            Map.entry("KMSInternalException", KmsInternalException::new));

    private Errors() {}

    /** The typed exception for a failed call; an unknown or missing reason gives the base class. */
    public static KmsException fromGrpc(String method, StatusRuntimeException e) {
        Status status = e.getStatus();
        String reason = null;
        String requestId = null;
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        if (details != null) {
            for (Any detail : details.getDetailsList()) {
                if (detail.is(ErrorInfo.class)) {
                    try {
                        ErrorInfo info = detail.unpack(ErrorInfo.class);
                        if (DOMAIN.equals(info.getDomain())) {
                            reason = info.getReason();
                            requestId = info.getMetadataOrDefault("requestId", null);
                        }
                    } catch (InvalidProtocolBufferException ignored) {
                        // A detail we cannot read is treated as no detail: the status code still stands.
                    }
                }
            }
        }
        Metadata trailers = e.getTrailers();
        if (requestId == null && trailers != null) {
            requestId = trailers.get(REQUEST_ID);
        }
        // The server's message is written for callers (no secrets); transport messages are too.
        String message = method + ": " + (status.getDescription() == null ? status.getCode() : status.getDescription());
        Factory factory = reason == null ? null : BY_REASON.get(reason);
        if (factory == null) {
            return new KmsException(reason, status.getCode(), requestId, message, e);
        }
        return factory.create(status.getCode(), requestId, message, e);
    }
}
