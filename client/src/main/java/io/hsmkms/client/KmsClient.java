package io.hsmkms.client;

import com.google.protobuf.ByteString;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.MetadataUtils;
import io.hsmkms.client.errors.Errors;
import io.hsmkms.client.errors.KmsException;
import io.hsmkms.proto.v1.*;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.net.ssl.SSLException;

/**
 * A client of the HSM-KMS service: one gRPC channel, a deadline per attempt, retries with backoff on
 * UNAVAILABLE and ThrottlingException only, and typed {@link KmsException}s for every failure.
 * Thread-safe; make one per process and close it at the end.
 *
 * <p>Request and response types are the generated {@code io.hsmkms.proto.v1} messages: a wrapper
 * per message would add code and no meaning. The data plane has shorter overloads for the common case.
 */
public final class KmsClient implements AutoCloseable {
    private final ManagedChannel channel;
    private final KeyManagementServiceBlockingStub stub;
    private final Duration deadline;
    private final RetryPolicy retry;

    private KmsClient(ManagedChannel channel, KeyManagementServiceBlockingStub stub, Duration deadline, RetryPolicy retry) {
        this.channel = channel;
        this.stub = stub;
        this.deadline = deadline;
        this.retry = retry;
    }

    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- data plane

    public EncryptResponse encrypt(String keyId, byte[] plaintext, Map<String, String> context) {
        return encrypt(EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFrom(plaintext))
                .putAllEncryptionContext(context).build());
    }

    public EncryptResponse encrypt(EncryptRequest request) {
        return call("Encrypt", s -> s.encrypt(request));
    }

    public DecryptResponse decrypt(byte[] ciphertextBlob, Map<String, String> context) {
        return decrypt(DecryptRequest.newBuilder().setCiphertextBlob(ByteString.copyFrom(ciphertextBlob))
                .putAllEncryptionContext(context).build());
    }

    public DecryptResponse decrypt(DecryptRequest request) {
        return call("Decrypt", s -> s.decrypt(request));
    }

    public ReEncryptResponse reEncrypt(ReEncryptRequest request) {
        return call("ReEncrypt", s -> s.reEncrypt(request));
    }

    /** A fresh AES-256 data key under {@code keyId}, in plaintext and encrypted. */
    public GenerateDataKeyResponse generateDataKey(String keyId, Map<String, String> context) {
        return generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(keyId)
                .setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).putAllEncryptionContext(context).build());
    }

    public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest request) {
        return call("GenerateDataKey", s -> s.generateDataKey(request));
    }

    /** A fresh AES-256 data key under {@code keyId}, encrypted only. */
    public GenerateDataKeyWithoutPlaintextResponse generateDataKeyWithoutPlaintext(String keyId,
                                                                                   Map<String, String> context) {
        return generateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest.newBuilder().setKeyId(keyId)
                .setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).putAllEncryptionContext(context).build());
    }

    public GenerateDataKeyWithoutPlaintextResponse generateDataKeyWithoutPlaintext(
            GenerateDataKeyWithoutPlaintextRequest request) {
        return call("GenerateDataKeyWithoutPlaintext", s -> s.generateDataKeyWithoutPlaintext(request));
    }

    /** {@code numberOfBytes} (1..1024) random bytes from the HSM. */
    public byte[] generateRandom(int numberOfBytes) {
        GenerateRandomRequest request = GenerateRandomRequest.newBuilder().setNumberOfBytes(numberOfBytes).build();
        return call("GenerateRandom", s -> s.generateRandom(request)).getPlaintext().toByteArray();
    }

    // ---------------------------------------------------------------- keys

    public KeyMetadata createKey(CreateKeyRequest request) {
        return call("CreateKey", s -> s.createKey(request)).getKeyMetadata();
    }

    public KeyMetadata describeKey(String keyId) {
        DescribeKeyRequest request = DescribeKeyRequest.newBuilder().setKeyId(keyId).build();
        return call("DescribeKey", s -> s.describeKey(request)).getKeyMetadata();
    }

    public ListKeysResponse listKeys(ListKeysRequest request) {
        return call("ListKeys", s -> s.listKeys(request));
    }

    public void enableKey(String keyId) {
        EnableKeyRequest request = EnableKeyRequest.newBuilder().setKeyId(keyId).build();
        call("EnableKey", s -> s.enableKey(request));
    }

    public void disableKey(String keyId) {
        DisableKeyRequest request = DisableKeyRequest.newBuilder().setKeyId(keyId).build();
        call("DisableKey", s -> s.disableKey(request));
    }

    public UpdateKeyDescriptionResponse updateKeyDescription(UpdateKeyDescriptionRequest request) {
        return call("UpdateKeyDescription", s -> s.updateKeyDescription(request));
    }

    public ScheduleKeyDeletionResponse scheduleKeyDeletion(ScheduleKeyDeletionRequest request) {
        return call("ScheduleKeyDeletion", s -> s.scheduleKeyDeletion(request));
    }

    public CancelKeyDeletionResponse cancelKeyDeletion(String keyId) {
        CancelKeyDeletionRequest request = CancelKeyDeletionRequest.newBuilder().setKeyId(keyId).build();
        return call("CancelKeyDeletion", s -> s.cancelKeyDeletion(request));
    }

    // ---------------------------------------------------------------- rotation

    public EnableKeyRotationResponse enableKeyRotation(EnableKeyRotationRequest request) {
        return call("EnableKeyRotation", s -> s.enableKeyRotation(request));
    }

    public DisableKeyRotationResponse disableKeyRotation(String keyId) {
        DisableKeyRotationRequest request = DisableKeyRotationRequest.newBuilder().setKeyId(keyId).build();
        return call("DisableKeyRotation", s -> s.disableKeyRotation(request));
    }

    public GetKeyRotationStatusResponse getKeyRotationStatus(String keyId) {
        GetKeyRotationStatusRequest request = GetKeyRotationStatusRequest.newBuilder().setKeyId(keyId).build();
        return call("GetKeyRotationStatus", s -> s.getKeyRotationStatus(request));
    }

    public RotateKeyOnDemandResponse rotateKeyOnDemand(String keyId) {
        RotateKeyOnDemandRequest request = RotateKeyOnDemandRequest.newBuilder().setKeyId(keyId).build();
        return call("RotateKeyOnDemand", s -> s.rotateKeyOnDemand(request));
    }

    public ListKeyRotationsResponse listKeyRotations(ListKeyRotationsRequest request) {
        return call("ListKeyRotations", s -> s.listKeyRotations(request));
    }

    // ---------------------------------------------------------------- imported key material

    public GetParametersForImportResponse getParametersForImport(GetParametersForImportRequest request) {
        return call("GetParametersForImport", s -> s.getParametersForImport(request));
    }

    public ImportKeyMaterialResponse importKeyMaterial(ImportKeyMaterialRequest request) {
        return call("ImportKeyMaterial", s -> s.importKeyMaterial(request));
    }

    public DeleteImportedKeyMaterialResponse deleteImportedKeyMaterial(String keyId) {
        DeleteImportedKeyMaterialRequest request = DeleteImportedKeyMaterialRequest.newBuilder().setKeyId(keyId).build();
        return call("DeleteImportedKeyMaterial", s -> s.deleteImportedKeyMaterial(request));
    }

    // ---------------------------------------------------------------- policies and grants

    public PutKeyPolicyResponse putKeyPolicy(PutKeyPolicyRequest request) {
        return call("PutKeyPolicy", s -> s.putKeyPolicy(request));
    }

    public GetKeyPolicyResponse getKeyPolicy(String keyId) {
        GetKeyPolicyRequest request = GetKeyPolicyRequest.newBuilder().setKeyId(keyId).build();
        return call("GetKeyPolicy", s -> s.getKeyPolicy(request));
    }

    public ListKeyPoliciesResponse listKeyPolicies(ListKeyPoliciesRequest request) {
        return call("ListKeyPolicies", s -> s.listKeyPolicies(request));
    }

    public CreateGrantResponse createGrant(CreateGrantRequest request) {
        return call("CreateGrant", s -> s.createGrant(request));
    }

    public ListGrantsResponse listGrants(ListGrantsRequest request) {
        return call("ListGrants", s -> s.listGrants(request));
    }

    public ListGrantsResponse listRetirableGrants(ListRetirableGrantsRequest request) {
        return call("ListRetirableGrants", s -> s.listRetirableGrants(request));
    }

    public RetireGrantResponse retireGrant(RetireGrantRequest request) {
        return call("RetireGrant", s -> s.retireGrant(request));
    }

    public RevokeGrantResponse revokeGrant(String keyId, String grantId) {
        RevokeGrantRequest request = RevokeGrantRequest.newBuilder().setKeyId(keyId).setGrantId(grantId).build();
        return call("RevokeGrant", s -> s.revokeGrant(request));
    }

    // ---------------------------------------------------------------- aliases and tags

    public CreateAliasResponse createAlias(String aliasName, String targetKeyId) {
        CreateAliasRequest request = CreateAliasRequest.newBuilder().setAliasName(aliasName)
                .setTargetKeyId(targetKeyId).build();
        return call("CreateAlias", s -> s.createAlias(request));
    }

    public UpdateAliasResponse updateAlias(String aliasName, String targetKeyId) {
        UpdateAliasRequest request = UpdateAliasRequest.newBuilder().setAliasName(aliasName)
                .setTargetKeyId(targetKeyId).build();
        return call("UpdateAlias", s -> s.updateAlias(request));
    }

    public DeleteAliasResponse deleteAlias(String aliasName) {
        DeleteAliasRequest request = DeleteAliasRequest.newBuilder().setAliasName(aliasName).build();
        return call("DeleteAlias", s -> s.deleteAlias(request));
    }

    public ListAliasesResponse listAliases(ListAliasesRequest request) {
        return call("ListAliases", s -> s.listAliases(request));
    }

    public TagResourceResponse tagResource(TagResourceRequest request) {
        return call("TagResource", s -> s.tagResource(request));
    }

    public UntagResourceResponse untagResource(UntagResourceRequest request) {
        return call("UntagResource", s -> s.untagResource(request));
    }

    public ListResourceTagsResponse listResourceTags(ListResourceTagsRequest request) {
        return call("ListResourceTags", s -> s.listResourceTags(request));
    }

    // ---------------------------------------------------------------- audit events

    /**
     * Streams the audit events of the caller's account (WatchEvents) to {@code consumer}, on the
     * calling thread, as the server makes them durable. Blocks until one of:
     * <ul>
     *   <li>the stream fails: thrown as the typed {@link KmsException} like every other call, e.g.
     *       {@code AccessDeniedException} without {@code kms:WatchEvents}, code UNAVAILABLE when the
     *       server goes away, RESOURCE_EXHAUSTED when this watcher fell too far behind;</li>
     *   <li>{@code consumer} throws: the stream is cancelled and the exception propagates unchanged
     *       (the way to stop after N events);</li>
     *   <li>the calling thread is interrupted: the stream is cancelled and the method returns with the
     *       thread's interrupt flag set.</li>
     * </ul>
     * No deadline (a watch is meant to stay open) and <b>no retries or reconnects</b>: a reconnect
     * would silently skip the events made while disconnected, and only the caller can decide whether
     * that matters (query the trail files for the gap, by time or {@code seq}). Call it again to reconnect.
     */
    public void watchEvents(WatchEventsRequest request, Consumer<AuditEvent> consumer) {
        Objects.requireNonNull(consumer);
        Context.CancellableContext watch = Context.current().withCancellation();
        Context previous = watch.attach();
        try {
            Iterator<AuditEvent> events = stub.watchEvents(request);
            while (events.hasNext()) {
                consumer.accept(events.next());
            }
        } catch (StatusRuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                return; // gRPC cancelled the call because we were interrupted: that is how a watch is stopped
            }
            throw Errors.fromGrpc("WatchEvents", e);
        } finally {
            watch.detach(previous);
            watch.cancel(null); // ends the server's stream when we stop early
        }
    }

    // ---------------------------------------------------------------- plumbing

    /**
     * Runs one RPC with a fresh deadline per attempt, retrying what {@link KmsException#isRetryable()}
     * allows. A retry of Encrypt or GenerateDataKey is harmless (a second, unused ciphertext); a retried
     * CreateKey whose first attempt reached the server but whose answer was lost can leave a second key:
     * the same trade-off the AWS SDKs make.
     */
    private <T> T call(String method, Function<KeyManagementServiceBlockingStub, T> rpc) {
        for (int attempt = 1; ; attempt++) {
            try {
                return rpc.apply(stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS));
            } catch (StatusRuntimeException e) {
                KmsException failure = Errors.fromGrpc(method, e);
                if (!failure.isRetryable() || attempt >= retry.maxAttempts()) {
                    throw failure;
                }
                sleep(retry.backoff(attempt), failure);
            }
        }
    }

    private static void sleep(Duration pause, KmsException pending) {
        try {
            Thread.sleep(pause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw pending;
        }
    }

    @Override
    public void close() {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** How to reach and authenticate to the service. Transport security must be chosen explicitly. */
    public static final class Builder {
        private String target = "127.0.0.1:7700";
        private Path trustCa;
        private Path clientCert;
        private Path clientKey;
        private String bearerToken;
        private boolean plaintext;
        private String authority;
        private Duration deadline = Duration.ofSeconds(30);
        private RetryPolicy retry = RetryPolicy.DEFAULT;
        private final List<ClientInterceptor> interceptors = new ArrayList<>();

        private Builder() {}

        /** {@code host:port}, default 127.0.0.1:7700. */
        public Builder target(String hostAndPort) {
            this.target = Objects.requireNonNull(hostAndPort);
            return this;
        }

        /** Verify the server against this CA (PEM); without it TLS uses the JDK's default trust store. */
        public Builder trustCa(Path caPem) {
            this.trustCa = caPem;
            return this;
        }

        /** Mutual TLS: present this certificate chain and PKCS#8 key (both PEM). */
        public Builder clientCertificate(Path certPem, Path keyPem) {
            this.clientCert = Objects.requireNonNull(certPem);
            this.clientKey = Objects.requireNonNull(keyPem);
            return this;
        }

        /** Send {@code authorization: Bearer <token>} with every call (the server's token authentication). */
        public Builder bearerToken(String token) {
            if (token == null || token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
                throw new IllegalArgumentException("a bearer token is non-empty printable ASCII");
            }
            this.bearerToken = token;
            return this;
        }

        /** Read the bearer token from a file (surrounding whitespace ignored), so it never sits on a command line. */
        public Builder bearerTokenFile(Path file) {
            try {
                return bearerToken(Files.readString(file, StandardCharsets.US_ASCII).strip());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read token file " + file, e);
            }
        }

        /** No TLS at all. Only for loopback development servers; never the default. */
        public Builder plaintext(boolean plaintext) {
            this.plaintext = plaintext;
            return this;
        }

        /** The TLS server name to verify, when it differs from the target host (e.g. "localhost" for the dev PKI). */
        public Builder authority(String authority) {
            this.authority = authority;
            return this;
        }

        /** Deadline of each attempt (default 30 s). */
        public Builder deadline(Duration deadline) {
            if (deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("deadline must be positive");
            }
            this.deadline = deadline;
            return this;
        }

        public Builder retryPolicy(RetryPolicy retry) {
            this.retry = Objects.requireNonNull(retry);
            return this;
        }

        /** Extra interceptors (tracing, metrics); they see every attempt. */
        public Builder intercept(ClientInterceptor interceptor) {
            interceptors.add(Objects.requireNonNull(interceptor));
            return this;
        }

        public KmsClient build() {
            if (plaintext && (trustCa != null || clientCert != null)) {
                throw new IllegalArgumentException("plaintext was asked for together with TLS files");
            }
            NettyChannelBuilder channelBuilder = NettyChannelBuilder.forTarget(target);
            if (plaintext) {
                channelBuilder.usePlaintext();
            } else {
                try {
                    SslContextBuilder ssl = GrpcSslContexts.forClient();
                    if (trustCa != null) {
                        ssl.trustManager(trustCa.toFile());
                    }
                    if (clientCert != null) {
                        ssl.keyManager(clientCert.toFile(), clientKey.toFile());
                    }
                    channelBuilder.sslContext(ssl.build());
                } catch (SSLException | IllegalArgumentException e) {
                    throw new IllegalArgumentException("cannot use the TLS files: " + e.getMessage(), e);
                }
            }
            if (authority != null) {
                channelBuilder.overrideAuthority(authority);
            }
            ManagedChannel channel = channelBuilder.build();
            KeyManagementServiceBlockingStub stub = KeyManagementServiceGrpc.newBlockingStub(channel);
            List<ClientInterceptor> all = new ArrayList<>(interceptors);
            if (bearerToken != null) {
                Metadata headers = new Metadata();
                headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + bearerToken);
                all.add(MetadataUtils.newAttachHeadersInterceptor(headers));
            }
            // withInterceptors runs the last one first; keep the caller's order as given.
            java.util.Collections.reverse(all);
            stub = stub.withInterceptors(all.toArray(ClientInterceptor[]::new));
            return new KmsClient(channel, stub, deadline, retry);
        }

        @Override
        public String toString() {
            // Never the token.
            return "KmsClient.Builder[target=" + target + ", plaintext=" + plaintext + ", mtls=" + (clientCert != null)
                    + ", token=" + (bearerToken != null ? "set" : "none") + "]";
        }
    }
}
