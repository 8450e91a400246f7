package io.hsmkms.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.CreateKeyResponse;
import io.hsmkms.proto.v1.DataKeySpec;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DecryptResponse;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.DescribeKeyResponse;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.DisableKeyResponse;
import io.hsmkms.proto.v1.EnableKeyRequest;
import io.hsmkms.proto.v1.EnableKeyResponse;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.EncryptionAlgorithmSpec;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.GenerateDataKeyResponse;
import io.hsmkms.proto.v1.GenerateDataKeyWithoutPlaintextRequest;
import io.hsmkms.proto.v1.GenerateDataKeyWithoutPlaintextResponse;
import io.hsmkms.proto.v1.GenerateRandomRequest;
import io.hsmkms.proto.v1.GenerateRandomResponse;
import io.hsmkms.proto.v1.KeyListEntry;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyMetadata;
import io.hsmkms.proto.v1.KeyState;
import io.hsmkms.proto.v1.KeyUsage;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.ListKeysResponse;
import io.hsmkms.proto.v1.OriginType;
import io.hsmkms.proto.v1.ReEncryptRequest;
import io.hsmkms.proto.v1.ReEncryptResponse;
import io.hsmkms.proto.v1.CreateGrantRequest;
import io.hsmkms.proto.v1.CreateGrantResponse;
import io.hsmkms.proto.v1.GetKeyPolicyRequest;
import io.hsmkms.proto.v1.GetKeyPolicyResponse;
import io.hsmkms.proto.v1.GrantConstraints;
import io.hsmkms.proto.v1.GrantListEntry;
import io.hsmkms.proto.v1.ListGrantsRequest;
import io.hsmkms.proto.v1.ListGrantsResponse;
import io.hsmkms.proto.v1.ListKeyPoliciesRequest;
import io.hsmkms.proto.v1.ListKeyPoliciesResponse;
import io.hsmkms.proto.v1.ListRetirableGrantsRequest;
import io.hsmkms.proto.v1.PutKeyPolicyRequest;
import io.hsmkms.proto.v1.PutKeyPolicyResponse;
import io.hsmkms.proto.v1.RetireGrantRequest;
import io.hsmkms.proto.v1.RetireGrantResponse;
import io.hsmkms.proto.v1.RevokeGrantRequest;
import io.hsmkms.proto.v1.RevokeGrantResponse;
import io.hsmkms.proto.v1.AliasListEntry;
import io.hsmkms.proto.v1.CreateAliasRequest;
import io.hsmkms.proto.v1.CreateAliasResponse;
import io.hsmkms.proto.v1.DeleteAliasRequest;
import io.hsmkms.proto.v1.DeleteAliasResponse;
import io.hsmkms.proto.v1.ListAliasesRequest;
import io.hsmkms.proto.v1.ListAliasesResponse;
import io.hsmkms.proto.v1.UpdateAliasRequest;
import io.hsmkms.proto.v1.UpdateAliasResponse;
import io.hsmkms.proto.v1.ListResourceTagsRequest;
import io.hsmkms.proto.v1.ListResourceTagsResponse;
import io.hsmkms.proto.v1.Tag;
import io.hsmkms.proto.v1.TagResourceRequest;
import io.hsmkms.proto.v1.TagResourceResponse;
import io.hsmkms.proto.v1.UntagResourceRequest;
import io.hsmkms.proto.v1.UntagResourceResponse;
import io.hsmkms.proto.v1.UpdateKeyDescriptionRequest;
import io.hsmkms.proto.v1.UpdateKeyDescriptionResponse;
import io.hsmkms.proto.v1.CancelKeyDeletionRequest;
import io.hsmkms.proto.v1.CancelKeyDeletionResponse;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.proto.v1.ScheduleKeyDeletionResponse;
import io.hsmkms.proto.v1.DisableKeyRotationRequest;
import io.hsmkms.proto.v1.DisableKeyRotationResponse;
import io.hsmkms.proto.v1.EnableKeyRotationRequest;
import io.hsmkms.proto.v1.EnableKeyRotationResponse;
import io.hsmkms.proto.v1.GetKeyRotationStatusRequest;
import io.hsmkms.proto.v1.GetKeyRotationStatusResponse;
import io.hsmkms.proto.v1.ListKeyRotationsRequest;
import io.hsmkms.proto.v1.ListKeyRotationsResponse;
import io.hsmkms.proto.v1.RotateKeyOnDemandRequest;
import io.hsmkms.proto.v1.RotateKeyOnDemandResponse;
import io.hsmkms.proto.v1.RotationType;
import io.hsmkms.proto.v1.DeleteImportedKeyMaterialRequest;
import io.hsmkms.proto.v1.DeleteImportedKeyMaterialResponse;
import io.hsmkms.proto.v1.ExpirationModelType;
import io.hsmkms.proto.v1.GetParametersForImportRequest;
import io.hsmkms.proto.v1.GetParametersForImportResponse;
import io.hsmkms.proto.v1.ImportKeyMaterialRequest;
import io.hsmkms.proto.v1.ImportKeyMaterialResponse;
import io.hsmkms.server.core.Alias;
import io.hsmkms.server.core.CallNotes;
import io.hsmkms.server.audit.AuditTrail;
import io.hsmkms.server.core.KeyAvailability;
import io.hsmkms.proto.v1.AuditEvent;
import io.hsmkms.proto.v1.WatchEventsRequest;
import io.grpc.stub.ServerCallStreamObserver;
import io.hsmkms.server.core.KeyImports;
import io.hsmkms.server.core.KeyOrigin;
import io.hsmkms.server.core.KeyVersion;
import io.hsmkms.server.core.Tags;
import io.hsmkms.server.core.Aliases;
import io.hsmkms.server.core.CryptoOperations;
import io.hsmkms.server.core.Grant;
import io.hsmkms.server.core.GrantOperation;
import io.hsmkms.server.core.Grants;
import io.hsmkms.server.core.KeyPolicies;
import io.hsmkms.server.core.Principal;
import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.core.KeyOperations;
import io.hsmkms.server.core.KeySpec;
import io.hsmkms.server.core.KmsException;
import io.hsmkms.server.core.ManagedKey;
import io.hsmkms.server.store.KeyRepository;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * Translates between protobuf and the core operations; holds no logic of its own beyond mapping
 * fields. Every handler runs through {@link #unary} so every failure is mapped the same way.
 */
final class KeyManagementGrpcService extends KeyManagementServiceGrpc.KeyManagementServiceImplBase {
    private static final int AES_128_BYTES = 16;
    private static final int AES_256_BYTES = 32;

    private final KeyOperations keys;
    private final CryptoOperations crypto;
    private final Grants grants;
    private final Aliases aliases;
    private final KeyImports imports;
    private final KeyAvailability availability;
    private final AuditTrail audit;
    /** WatchEvents drains: short, never blocking, one per busy stream. */
    private final java.util.concurrent.Executor watchers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    private final KeyNames names;
    private final Executor cryptoHandlers;
    private final Executor handlers;

    /**
     * @param cryptoHandlers runs the cryptographic calls' work, {@code handlers} every other unary call's: the
     *                       transport hands calls over on its own threads (KmsServer)
     */
    KeyManagementGrpcService(KeyOperations keys, CryptoOperations crypto, Grants grants, Aliases aliases,
                             KeyImports imports, KeyAvailability availability, KeyNames names, AuditTrail audit,
                             Executor cryptoHandlers, Executor handlers) {
        this.cryptoHandlers = cryptoHandlers;
        this.handlers = handlers;
        this.audit = audit;
        this.keys = keys;
        this.availability = availability;
        this.crypto = crypto;
        this.grants = grants;
        this.aliases = aliases;
        this.imports = imports;
        this.names = names;
    }

    @Override
    public void createKey(CreateKeyRequest request, StreamObserver<CreateKeyResponse> response) {
        unary(response, () -> {
            KeySpec spec = switch (request.getKeySpec()) {
                case KEY_SPEC_UNSPECIFIED, KEY_SPEC_SYMMETRIC_DEFAULT -> KeySpec.SYMMETRIC_DEFAULT;
                default -> throw validation("KeySpec is not supported.");
            };
            io.hsmkms.server.core.KeyUsage usage = switch (request.getKeyUsage()) {
                case KEY_USAGE_UNSPECIFIED, KEY_USAGE_ENCRYPT_DECRYPT -> io.hsmkms.server.core.KeyUsage.ENCRYPT_DECRYPT;
                default -> throw validation("KeyUsage is not supported.");
            };
            KeyOrigin origin = switch (request.getOrigin()) {
                case ORIGIN_UNSPECIFIED, ORIGIN_HSM -> KeyOrigin.HSM;
                case ORIGIN_EXTERNAL -> KeyOrigin.EXTERNAL;
                default -> throw validation("Origin is not supported.");
            };
            ManagedKey key = keys.create(caller(), request.getDescription(), spec, usage, origin, request.getPolicy(),
                    request.getBypassPolicyLockoutSafetyCheck(), tagMap(request.getTagsList()));
            return CreateKeyResponse.newBuilder().setKeyMetadata(metadata(key)).build();
        });
    }

    @Override
    public void describeKey(DescribeKeyRequest request, StreamObserver<DescribeKeyResponse> response) {
        unary(response, () -> {
            Grants.acceptTokens(request.getGrantTokensList());
            return DescribeKeyResponse.newBuilder().setKeyMetadata(metadata(keys.describe(caller(), request.getKeyId()))).build();
        });
    }

    @Override
    public void listKeys(ListKeysRequest request, StreamObserver<ListKeysResponse> response) {
        unary(response, () -> {
            KeyRepository.Page page = keys.list(caller(), request.getLimit(), request.getMarker());
            ListKeysResponse.Builder out = ListKeysResponse.newBuilder().setTruncated(page.truncated());
            for (ManagedKey key : page.keys()) {
                out.addKeys(KeyListEntry.newBuilder().setKeyId(key.id().toString()).setKeyArn(names.arn(key)));
            }
            if (page.truncated()) {
                out.setNextMarker(page.keys().getLast().id().toString());
            }
            return out.build();
        });
    }

    @Override
    public void enableKey(EnableKeyRequest request, StreamObserver<EnableKeyResponse> response) {
        unary(response, () -> {
            keys.enable(caller(), request.getKeyId());
            return EnableKeyResponse.getDefaultInstance();
        });
    }

    @Override
    public void disableKey(DisableKeyRequest request, StreamObserver<DisableKeyResponse> response) {
        unary(response, () -> {
            keys.disable(caller(), request.getKeyId());
            return DisableKeyResponse.getDefaultInstance();
        });
    }

    @Override
    public void encrypt(EncryptRequest request, StreamObserver<EncryptResponse> response) {
        crypto(response, () -> {
            requireSymmetricDefault(request.getEncryptionAlgorithm());
            Grants.acceptTokens(request.getGrantTokensList());
            CryptoOperations.Sealed sealed = crypto.encrypt(caller(),
                    request.getKeyId(), request.getPlaintext().toByteArray(), request.getEncryptionContextMap());
            return EncryptResponse.newBuilder()
                    .setCiphertextBlob(ByteString.copyFrom(sealed.ciphertextBlob()))
                    .setKeyId(names.arn(sealed.key()))
                    .setEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                    .build();
        });
    }

    @Override
    public void decrypt(DecryptRequest request, StreamObserver<DecryptResponse> response) {
        crypto(response, () -> {
            requireSymmetricDefault(request.getEncryptionAlgorithm());
            Grants.acceptTokens(request.getGrantTokensList());
            CryptoOperations.Opened opened = crypto.decrypt(caller(),
                    request.getCiphertextBlob().toByteArray(), request.getEncryptionContextMap(), request.getKeyId());
            try {
                return DecryptResponse.newBuilder()
                        .setKeyId(names.arn(opened.key()))
                        .setPlaintext(ByteString.copyFrom(opened.plaintext()))
                        .setEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                        .build();
            } finally {
                Arrays.fill(opened.plaintext(), (byte) 0);
            }
        });
    }

    @Override
    public void reEncrypt(ReEncryptRequest request, StreamObserver<ReEncryptResponse> response) {
        crypto(response, () -> {
            requireSymmetricDefault(request.getSourceEncryptionAlgorithm());
            requireSymmetricDefault(request.getDestinationEncryptionAlgorithm());
            Grants.acceptTokens(request.getGrantTokensList());
            CryptoOperations.ReSealed resealed = crypto.reEncrypt(caller(), request.getCiphertextBlob().toByteArray(),
                    request.getSourceEncryptionContextMap(), request.getSourceKeyId(),
                    request.getDestinationKeyId(), request.getDestinationEncryptionContextMap());
            return ReEncryptResponse.newBuilder()
                    .setCiphertextBlob(ByteString.copyFrom(resealed.ciphertextBlob()))
                    .setSourceKeyId(names.arn(resealed.source()))
                    .setKeyId(names.arn(resealed.destination()))
                    .setSourceEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                    .setDestinationEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                    .build();
        });
    }

    @Override
    public void generateDataKey(GenerateDataKeyRequest request, StreamObserver<GenerateDataKeyResponse> response) {
        crypto(response, () -> {
            int length = dataKeyLength(request.getKeySpec(), request.hasNumberOfBytes(), request.getNumberOfBytes());
            Grants.acceptTokens(request.getGrantTokensList());
            CryptoOperations.DataKey dataKey =
                    crypto.generateDataKey(caller(), request.getKeyId(), length, request.getEncryptionContextMap(), true);
            try {
                return GenerateDataKeyResponse.newBuilder()
                        .setCiphertextBlob(ByteString.copyFrom(dataKey.ciphertextBlob()))
                        .setPlaintext(ByteString.copyFrom(dataKey.plaintext()))
                        .setKeyId(names.arn(dataKey.key()))
                        .build();
            } finally {
                Arrays.fill(dataKey.plaintext(), (byte) 0);
            }
        });
    }

    @Override
    public void generateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest request,
                                                StreamObserver<GenerateDataKeyWithoutPlaintextResponse> response) {
        crypto(response, () -> {
            int length = dataKeyLength(request.getKeySpec(), request.hasNumberOfBytes(), request.getNumberOfBytes());
            Grants.acceptTokens(request.getGrantTokensList());
            CryptoOperations.DataKey dataKey =
                    crypto.generateDataKey(caller(), request.getKeyId(), length, request.getEncryptionContextMap(), false);
            Arrays.fill(dataKey.plaintext(), (byte) 0);
            return GenerateDataKeyWithoutPlaintextResponse.newBuilder()
                    .setCiphertextBlob(ByteString.copyFrom(dataKey.ciphertextBlob()))
                    .setKeyId(names.arn(dataKey.key()))
                    .build();
        });
    }

    @Override
    public void generateRandom(GenerateRandomRequest request, StreamObserver<GenerateRandomResponse> response) {
        crypto(response, () -> GenerateRandomResponse.newBuilder()
                .setPlaintext(ByteString.copyFrom(crypto.generateRandom(caller(), request.getNumberOfBytes())))
                .build());
    }

    @Override
    public void watchEvents(WatchEventsRequest request, StreamObserver<AuditEvent> response) {
        RequestContext context = RequestContext.current();
        Principal caller;
        try {
            caller = caller();
            keys.authorizeWatchEvents(caller);
        } catch (RuntimeException failure) {
            response.onError(StatusMapper.toStatus(failure, context));
            return;
        }
        ServerCallStreamObserver<AuditEvent> out = (ServerCallStreamObserver<AuditEvent>) response;
        EventWatch watch = new EventWatch(out, request, caller.accountId(), watchers);
        AutoCloseable subscription = audit.subscribe(watch);
        out.setOnCancelHandler(() -> {
            watch.stop();
            try {
                subscription.close();
            } catch (Exception e) {
                // Unsubscribing only removes a listener.
            }
        });
    }

    @Override
    public void putKeyPolicy(PutKeyPolicyRequest request, StreamObserver<PutKeyPolicyResponse> response) {
        unary(response, () -> {
            keys.putPolicy(caller(), request.getKeyId(), request.getPolicyName(), request.getPolicy(),
                    request.getBypassPolicyLockoutSafetyCheck());
            return PutKeyPolicyResponse.getDefaultInstance();
        });
    }

    @Override
    public void getKeyPolicy(GetKeyPolicyRequest request, StreamObserver<GetKeyPolicyResponse> response) {
        unary(response, () -> GetKeyPolicyResponse.newBuilder()
                .setPolicy(keys.getPolicy(caller(), request.getKeyId(), request.getPolicyName()))
                .setPolicyName(KeyPolicies.DEFAULT_POLICY_NAME)
                .build());
    }

    @Override
    public void listKeyPolicies(ListKeyPoliciesRequest request, StreamObserver<ListKeyPoliciesResponse> response) {
        unary(response, () -> ListKeyPoliciesResponse.newBuilder()
                .addAllPolicyNames(keys.listPolicies(caller(), request.getKeyId(), request.getLimit()))
                .build());
    }

    @Override
    public void createGrant(CreateGrantRequest request, StreamObserver<CreateGrantResponse> response) {
        unary(response, () -> {
            Grants.acceptTokens(request.getGrantTokensList());
            Set<GrantOperation> operations = EnumSet.noneOf(GrantOperation.class);
            for (io.hsmkms.proto.v1.GrantOperation op : request.getOperationsList()) {
                operations.add(grantOperation(op));
            }
            GrantConstraints constraints = request.getConstraints();
            Grants.Created created = grants.create(caller(), request.getKeyId(), request.getGranteePrincipal(),
                    request.getRetiringPrincipal(), operations,
                    constraints.getEncryptionContextEqualsCount() == 0 ? null : constraints.getEncryptionContextEqualsMap(),
                    constraints.getEncryptionContextSubsetCount() == 0 ? null : constraints.getEncryptionContextSubsetMap(),
                    request.getName());
            return CreateGrantResponse.newBuilder().setGrantId(created.grantId()).setGrantToken(created.grantToken()).build();
        });
    }

    @Override
    public void listGrants(ListGrantsRequest request, StreamObserver<ListGrantsResponse> response) {
        unary(response, () -> grantPage(grants.list(caller(), request.getKeyId(), request.getLimit(), request.getMarker(),
                request.getGrantId(), request.getGranteePrincipal())));
    }

    @Override
    public void listRetirableGrants(ListRetirableGrantsRequest request, StreamObserver<ListGrantsResponse> response) {
        unary(response, () -> grantPage(grants.listRetirable(caller(), request.getRetiringPrincipal(), request.getLimit(),
                request.getMarker())));
    }

    @Override
    public void retireGrant(RetireGrantRequest request, StreamObserver<RetireGrantResponse> response) {
        unary(response, () -> {
            grants.retire(caller(), request.getGrantToken(), request.getKeyId(), request.getGrantId());
            return RetireGrantResponse.getDefaultInstance();
        });
    }

    @Override
    public void revokeGrant(RevokeGrantRequest request, StreamObserver<RevokeGrantResponse> response) {
        unary(response, () -> {
            grants.revoke(caller(), request.getKeyId(), request.getGrantId());
            return RevokeGrantResponse.getDefaultInstance();
        });
    }

    @Override
    public void updateKeyDescription(UpdateKeyDescriptionRequest request,
                                     StreamObserver<UpdateKeyDescriptionResponse> response) {
        unary(response, () -> {
            keys.updateDescription(caller(), request.getKeyId(), request.getDescription());
            return UpdateKeyDescriptionResponse.getDefaultInstance();
        });
    }

    @Override
    public void tagResource(TagResourceRequest request, StreamObserver<TagResourceResponse> response) {
        unary(response, () -> {
            keys.tag(caller(), request.getKeyId(), tagMap(request.getTagsList()));
            return TagResourceResponse.getDefaultInstance();
        });
    }

    @Override
    public void untagResource(UntagResourceRequest request, StreamObserver<UntagResourceResponse> response) {
        unary(response, () -> {
            keys.untag(caller(), request.getKeyId(), request.getTagKeysList());
            return UntagResourceResponse.getDefaultInstance();
        });
    }

    @Override
    public void listResourceTags(ListResourceTagsRequest request, StreamObserver<ListResourceTagsResponse> response) {
        unary(response, () -> {
            int limit = request.getLimit() == 0 ? Tags.MAX_TAGS : request.getLimit();
            if (limit < 1 || limit > Tags.MAX_TAGS) {
                throw validation("Limit must be between 1 and " + Tags.MAX_TAGS + ".");
            }
            List<Map.Entry<String, String>> tags = new TreeMap<>(keys.tags(caller(), request.getKeyId())).entrySet().stream()
                    .filter(t -> request.getMarker().isEmpty() || t.getKey().compareTo(request.getMarker()) > 0)
                    .toList();
            boolean truncated = tags.size() > limit;
            List<Map.Entry<String, String>> page = truncated ? tags.subList(0, limit) : tags;
            ListResourceTagsResponse.Builder out = ListResourceTagsResponse.newBuilder().setTruncated(truncated);
            page.forEach(t -> out.addTags(Tag.newBuilder().setTagKey(t.getKey()).setTagValue(t.getValue())));
            if (truncated) {
                out.setNextMarker(page.getLast().getKey());
            }
            return out.build();
        });
    }

    /** Tags as a map; the same key twice in one request is an error, as in AWS KMS. */
    private static Map<String, String> tagMap(List<Tag> tags) {
        Map<String, String> map = new LinkedHashMap<>();
        for (Tag tag : tags) {
            if (map.put(tag.getTagKey(), tag.getTagValue()) != null) {
                throw new KmsException(ErrorReason.TAG, "A tag key appears twice in the request.");
            }
        }
        return map;
    }

    @Override
    public void createAlias(CreateAliasRequest request, StreamObserver<CreateAliasResponse> response) {
        unary(response, () -> {
            aliases.create(caller(), request.getAliasName(), request.getTargetKeyId());
            return CreateAliasResponse.getDefaultInstance();
        });
    }

    @Override
    public void updateAlias(UpdateAliasRequest request, StreamObserver<UpdateAliasResponse> response) {
        unary(response, () -> {
            aliases.update(caller(), request.getAliasName(), request.getTargetKeyId());
            return UpdateAliasResponse.getDefaultInstance();
        });
    }

    @Override
    public void deleteAlias(DeleteAliasRequest request, StreamObserver<DeleteAliasResponse> response) {
        unary(response, () -> {
            aliases.delete(caller(), request.getAliasName());
            return DeleteAliasResponse.getDefaultInstance();
        });
    }

    @Override
    public void listAliases(ListAliasesRequest request, StreamObserver<ListAliasesResponse> response) {
        unary(response, () -> {
            Aliases.Page page = aliases.list(caller(), request.getKeyId(), request.getLimit(), request.getMarker());
            ListAliasesResponse.Builder out = ListAliasesResponse.newBuilder().setTruncated(page.truncated());
            for (Alias alias : page.aliases()) {
                out.addAliases(AliasListEntry.newBuilder()
                        .setAliasName(alias.name())
                        .setAliasArn(names.aliasArn(alias.accountId(), alias.name()))
                        .setTargetKeyId(alias.keyId().toString())
                        .setCreationDate(timestamp(alias.createdAt()))
                        .setLastUpdatedDate(timestamp(alias.updatedAt())));
            }
            if (page.truncated()) {
                out.setNextMarker(page.aliases().getLast().name());
            }
            return out.build();
        });
    }

    private ListGrantsResponse grantPage(Grants.Page page) {
        ListGrantsResponse.Builder out = ListGrantsResponse.newBuilder().setTruncated(page.truncated());
        for (Grant grant : page.grants()) {
            GrantListEntry.Builder entry = GrantListEntry.newBuilder()
                    .setKeyId(names.arn(grant.issuingAccount(), grant.keyId()))
                    .setGrantId(grant.grantId())
                    .setCreationDate(timestamp(grant.createdAt()))
                    .setGranteePrincipal(grant.granteePrincipal())
                    .setIssuingAccount(grant.issuingAccount());
            if (grant.name() != null) {
                entry.setName(grant.name());
            }
            if (grant.retiringPrincipal() != null) {
                entry.setRetiringPrincipal(grant.retiringPrincipal());
            }
            grant.operations().stream().sorted().forEach(op -> entry.addOperations(protoGrantOperation(op)));
            GrantConstraints.Builder constraints = GrantConstraints.newBuilder();
            if (grant.contextEquals() != null) {
                constraints.putAllEncryptionContextEquals(grant.contextEquals());
            }
            if (grant.contextSubset() != null) {
                constraints.putAllEncryptionContextSubset(grant.contextSubset());
            }
            out.addGrants(entry.setConstraints(constraints));
        }
        if (page.truncated()) {
            out.setNextMarker(page.grants().getLast().grantId());
        }
        return out.build();
    }

    private static GrantOperation grantOperation(io.hsmkms.proto.v1.GrantOperation op) {
        return switch (op) {
            case GRANT_OPERATION_DECRYPT -> GrantOperation.DECRYPT;
            case GRANT_OPERATION_ENCRYPT -> GrantOperation.ENCRYPT;
            case GRANT_OPERATION_GENERATE_DATA_KEY -> GrantOperation.GENERATE_DATA_KEY;
            case GRANT_OPERATION_GENERATE_DATA_KEY_WITHOUT_PLAINTEXT -> GrantOperation.GENERATE_DATA_KEY_WITHOUT_PLAINTEXT;
            case GRANT_OPERATION_RE_ENCRYPT_FROM -> GrantOperation.RE_ENCRYPT_FROM;
            case GRANT_OPERATION_RE_ENCRYPT_TO -> GrantOperation.RE_ENCRYPT_TO;
            case GRANT_OPERATION_DESCRIBE_KEY -> GrantOperation.DESCRIBE_KEY;
            case GRANT_OPERATION_CREATE_GRANT -> GrantOperation.CREATE_GRANT;
            case GRANT_OPERATION_RETIRE_GRANT -> GrantOperation.RETIRE_GRANT;
            default -> throw validation("Operations holds an unknown grant operation.");
        };
    }

    private static io.hsmkms.proto.v1.GrantOperation protoGrantOperation(GrantOperation op) {
        return switch (op) {
            case DECRYPT -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_DECRYPT;
            case ENCRYPT -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_ENCRYPT;
            case GENERATE_DATA_KEY -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_GENERATE_DATA_KEY;
            case GENERATE_DATA_KEY_WITHOUT_PLAINTEXT ->
                    io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_GENERATE_DATA_KEY_WITHOUT_PLAINTEXT;
            case RE_ENCRYPT_FROM -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_RE_ENCRYPT_FROM;
            case RE_ENCRYPT_TO -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_RE_ENCRYPT_TO;
            case DESCRIBE_KEY -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_DESCRIBE_KEY;
            case CREATE_GRANT -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_CREATE_GRANT;
            case RETIRE_GRANT -> io.hsmkms.proto.v1.GrantOperation.GRANT_OPERATION_RETIRE_GRANT;
        };
    }

    private static Timestamp timestamp(java.time.Instant instant) {
        return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
    }

    private static Principal caller() {
        return RequestContext.current().principal();
    }

    private static KeyState keyState(io.hsmkms.server.core.KeyState state) {
        return switch (state) {
            case ENABLED -> KeyState.KEY_STATE_ENABLED;
            case DISABLED -> KeyState.KEY_STATE_DISABLED;
            case PENDING_DELETION, DELETING -> KeyState.KEY_STATE_PENDING_DELETION;
            case PENDING_IMPORT -> KeyState.KEY_STATE_PENDING_IMPORT;
        };
    }

    @Override
    public void getParametersForImport(GetParametersForImportRequest request,
                                       StreamObserver<GetParametersForImportResponse> response) {
        unary(response, () -> {
            KeyImports.WrappingAlgorithm algorithm = switch (request.getWrappingAlgorithm()) {
                case RSAES_OAEP_SHA_1 -> KeyImports.WrappingAlgorithm.RSAES_OAEP_SHA_1;
                case RSAES_OAEP_SHA_256 -> KeyImports.WrappingAlgorithm.RSAES_OAEP_SHA_256;
                default -> throw validation("WrappingAlgorithm must be RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256.");
            };
            int bits = switch (request.getWrappingKeySpec()) {
                case RSA_2048 -> 2048;
                case RSA_3072 -> 3072;
                case RSA_4096 -> 4096;
                default -> throw validation("WrappingKeySpec must be RSA_2048, RSA_3072 or RSA_4096.");
            };
            KeyImports.Parameters parameters = imports.parameters(caller(), request.getKeyId(), algorithm, bits);
            return GetParametersForImportResponse.newBuilder()
                    .setKeyId(names.arn(parameters.key()))
                    .setImportToken(ByteString.copyFrom(parameters.importToken()))
                    .setPublicKey(ByteString.copyFrom(parameters.publicKey()))
                    .setParametersValidTo(timestamp(parameters.validTo()))
                    .build();
        });
    }

    @Override
    public void importKeyMaterial(ImportKeyMaterialRequest request, StreamObserver<ImportKeyMaterialResponse> response) {
        unary(response, () -> {
            boolean expires = switch (request.getExpirationModel()) {
                case EXPIRATION_MODEL_UNSPECIFIED -> request.hasValidTo();
                case KEY_MATERIAL_EXPIRES -> true;
                case KEY_MATERIAL_DOES_NOT_EXPIRE -> false;
                default -> throw validation("ExpirationModel is not supported.");
            };
            if (expires != request.hasValidTo()) {
                throw validation("Give ValidTo exactly when the expiration model is KEY_MATERIAL_EXPIRES.");
            }
            java.time.Instant validTo = expires ? java.time.Instant.ofEpochSecond(request.getValidTo().getSeconds(),
                    request.getValidTo().getNanos()) : null;
            byte[] wrapped = request.getEncryptedKeyMaterial().toByteArray();
            imports.importMaterial(caller(), request.getKeyId(), request.getImportToken().toByteArray(), wrapped, validTo);
            return ImportKeyMaterialResponse.getDefaultInstance();
        });
    }

    @Override
    public void deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest request,
                                          StreamObserver<DeleteImportedKeyMaterialResponse> response) {
        unary(response, () -> {
            imports.deleteMaterial(caller(), request.getKeyId());
            return DeleteImportedKeyMaterialResponse.getDefaultInstance();
        });
    }

    @Override
    public void scheduleKeyDeletion(ScheduleKeyDeletionRequest request, StreamObserver<ScheduleKeyDeletionResponse> response) {
        unary(response, () -> {
            ManagedKey key = keys.scheduleDeletion(caller(), request.getKeyId(), request.getPendingWindowInDays());
            return ScheduleKeyDeletionResponse.newBuilder()
                    .setKeyId(names.arn(key))
                    .setDeletionDate(timestamp(key.deletionDate()))
                    .setKeyState(availability.unavailable(key) ? KeyState.KEY_STATE_UNAVAILABLE : keyState(key.state()))
                    .setPendingWindowInDays(request.getPendingWindowInDays() == 0
                            ? KeyOperations.DEFAULT_DELETION_WINDOW_DAYS : request.getPendingWindowInDays())
                    .build();
        });
    }

    @Override
    public void cancelKeyDeletion(CancelKeyDeletionRequest request, StreamObserver<CancelKeyDeletionResponse> response) {
        unary(response, () -> CancelKeyDeletionResponse.newBuilder()
                .setKeyId(names.arn(keys.cancelDeletion(caller(), request.getKeyId()))).build());
    }

    @Override
    public void enableKeyRotation(EnableKeyRotationRequest request, StreamObserver<EnableKeyRotationResponse> response) {
        unary(response, () -> {
            keys.enableRotation(caller(), request.getKeyId(), request.getRotationPeriodInDays());
            return EnableKeyRotationResponse.getDefaultInstance();
        });
    }

    @Override
    public void disableKeyRotation(DisableKeyRotationRequest request, StreamObserver<DisableKeyRotationResponse> response) {
        unary(response, () -> {
            keys.disableRotation(caller(), request.getKeyId());
            return DisableKeyRotationResponse.getDefaultInstance();
        });
    }

    @Override
    public void getKeyRotationStatus(GetKeyRotationStatusRequest request,
                                     StreamObserver<GetKeyRotationStatusResponse> response) {
        unary(response, () -> {
            ManagedKey key = keys.rotationStatus(caller(), request.getKeyId());
            ManagedKey.Rotation rotation = key.rotation();
            GetKeyRotationStatusResponse.Builder out = GetKeyRotationStatusResponse.newBuilder()
                    .setKeyId(names.arn(key))
                    .setKeyRotationEnabled(rotation.enabled())
                    .setOnDemandRotations(rotation.onDemandCount());
            if (rotation.enabled()) {
                out.setRotationPeriodInDays(rotation.periodDays()).setNextRotationDate(timestamp(rotation.nextRotationDate()));
            }
            return out.build();
        });
    }

    @Override
    public void rotateKeyOnDemand(RotateKeyOnDemandRequest request, StreamObserver<RotateKeyOnDemandResponse> response) {
        unary(response, () -> {
            ManagedKey key = keys.rotateOnDemand(caller(), request.getKeyId());
            return RotateKeyOnDemandResponse.newBuilder().setKeyId(names.arn(key))
                    .setKeyVersion(key.currentVersion().number()).build();
        });
    }

    @Override
    public void listKeyRotations(ListKeyRotationsRequest request, StreamObserver<ListKeyRotationsResponse> response) {
        unary(response, () -> {
            int limit = request.getLimit() == 0 ? KeyOperations.DEFAULT_LIST_LIMIT : request.getLimit();
            if (limit < 1 || limit > KeyOperations.MAX_LIST_LIMIT) {
                throw validation("Limit must be between 1 and " + KeyOperations.MAX_LIST_LIMIT + ".");
            }
            int after;
            try {
                after = request.getMarker().isEmpty() ? 0 : Integer.parseInt(request.getMarker());
            } catch (NumberFormatException e) {
                throw validation("Marker is not one this service returned.");
            }
            ManagedKey key = keys.rotations(caller(), request.getKeyId());
            List<KeyVersion> rotations = key.versions().stream()
                    .filter(v -> v.rotation() != null && v.number() > after).toList();
            boolean truncated = rotations.size() > limit;
            List<KeyVersion> page = truncated ? rotations.subList(0, limit) : rotations;
            ListKeyRotationsResponse.Builder out = ListKeyRotationsResponse.newBuilder().setTruncated(truncated);
            for (KeyVersion version : page) {
                out.addRotations(io.hsmkms.proto.v1.KeyRotation.newBuilder()
                        .setKeyId(names.arn(key))
                        .setKeyVersion(version.number())
                        .setRotationDate(timestamp(version.createdAt()))
                        .setRotationType(version.rotation() == KeyVersion.RotationType.AUTOMATIC
                                ? RotationType.ROTATION_TYPE_AUTOMATIC : RotationType.ROTATION_TYPE_ON_DEMAND));
            }
            if (truncated) {
                out.setNextMarker(Integer.toString(page.getLast().number()));
            }
            return out.build();
        });
    }

    private KeyMetadata metadata(ManagedKey key) {
        KeyMetadata.Builder out = KeyMetadata.newBuilder()
                .setKeyId(key.id().toString())
                .setArn(names.arn(key))
                .setAccountId(key.accountId())
                .setCreationDate(timestamp(key.createdAt()))
                .setEnabled(key.state() == io.hsmkms.server.core.KeyState.ENABLED)
                .setDescription(key.description())
                .setKeyState(availability.unavailable(key) ? KeyState.KEY_STATE_UNAVAILABLE : keyState(key.state()))
                .setKeyUsage(switch (key.usage()) {
                    case ENCRYPT_DECRYPT -> KeyUsage.KEY_USAGE_ENCRYPT_DECRYPT;
                })
                .setKeySpec(switch (key.spec()) {
                    case SYMMETRIC_DEFAULT -> io.hsmkms.proto.v1.KeySpec.KEY_SPEC_SYMMETRIC_DEFAULT;
                })
                .setOrigin(switch (key.origin()) {
                    case HSM -> OriginType.ORIGIN_HSM;
                    case EXTERNAL -> OriginType.ORIGIN_EXTERNAL;
                })
                .addEncryptionAlgorithms(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                .setCurrentKeyVersion(key.versions().isEmpty() ? 0 : key.currentVersion().number());
        if (key.origin() == io.hsmkms.server.core.KeyOrigin.EXTERNAL && key.imported().present()) {
            out.setExpirationModel(key.imported().validTo() == null
                    ? ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE : ExpirationModelType.KEY_MATERIAL_EXPIRES);
            if (key.imported().validTo() != null) {
                out.setValidTo(timestamp(key.imported().validTo()));
            }
        }
        if (key.deletionDate() != null) {
            out.setDeletionDate(timestamp(key.deletionDate()));
        }
        return out.build();
    }

    /** Exactly one of KeySpec and NumberOfBytes, as in AWS KMS. */
    private static int dataKeyLength(DataKeySpec spec, boolean hasNumberOfBytes, int numberOfBytes) {
        boolean hasSpec = spec != DataKeySpec.DATA_KEY_SPEC_UNSPECIFIED;
        if (hasSpec == hasNumberOfBytes) {
            throw validation("Specify exactly one of KeySpec and NumberOfBytes.");
        }
        if (hasNumberOfBytes) {
            return numberOfBytes;
        }
        return switch (spec) {
            case DATA_KEY_SPEC_AES_128 -> AES_128_BYTES;
            case DATA_KEY_SPEC_AES_256 -> AES_256_BYTES;
            default -> throw validation("KeySpec is not supported.");
        };
    }

    private static void requireSymmetricDefault(EncryptionAlgorithmSpec algorithm) {
        if (algorithm != EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_UNSPECIFIED
                && algorithm != EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT) {
            throw validation("EncryptionAlgorithm is not supported.");
        }
    }

    private static KmsException validation(String message) {
        return new KmsException(ErrorReason.VALIDATION, message);
    }

    /**
     * Runs a unary call on a handler thread: the one thread hand-off of the call on its way in. The call arrives
     * on a transport thread, which must not wait for the HSM, the database or a lock.
     */
    private <R> void unary(StreamObserver<R> response, Supplier<R> handler) {
        handOver(handlers, response, handler);
    }

    /** As {@link #unary}, on the threads kept for the cryptographic calls (KmsServer says why). */
    private <R> void crypto(StreamObserver<R> response, Supplier<R> handler) {
        handOver(cryptoHandlers, response, handler);
    }

    private static <R> void handOver(Executor executor, StreamObserver<R> response, Supplier<R> handler) {
        RequestContext request = RequestContext.current();
        try {
            executor.execute(Context.current().wrap(() -> run(request, response, handler)));
        } catch (RejectedExecutionException e) {
            response.onError(StatusMapper.toStatus(new KmsException(ErrorReason.INTERNAL, "The server is shutting down."),
                    request));
        }
    }

    private static <R> void run(RequestContext request, StreamObserver<R> response, Supplier<R> handler) {
        R result;
        CallNotes.bind(request.notes());
        try {
            result = handler.get();
        } catch (RuntimeException failure) {
            response.onError(StatusMapper.toStatus(failure, request));
            return;
        } finally {
            CallNotes.unbind();
        }
        response.onNext(result);
        response.onCompleted();
    }
}
