package io.hsmkms.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
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
import io.hsmkms.server.core.CryptoOperations;
import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.core.KeyOperations;
import io.hsmkms.server.core.KeySpec;
import io.hsmkms.server.core.KmsException;
import io.hsmkms.server.core.ManagedKey;
import io.hsmkms.server.store.KeyRepository;
import java.util.Arrays;
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
    private final KeyNames names;

    KeyManagementGrpcService(KeyOperations keys, CryptoOperations crypto, KeyNames names) {
        this.keys = keys;
        this.crypto = crypto;
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
            ManagedKey key = keys.create(request.getDescription(), spec, usage);
            return CreateKeyResponse.newBuilder().setKeyMetadata(metadata(key)).build();
        });
    }

    @Override
    public void describeKey(DescribeKeyRequest request, StreamObserver<DescribeKeyResponse> response) {
        unary(response, () -> DescribeKeyResponse.newBuilder()
                .setKeyMetadata(metadata(keys.describe(request.getKeyId()))).build());
    }

    @Override
    public void listKeys(ListKeysRequest request, StreamObserver<ListKeysResponse> response) {
        unary(response, () -> {
            KeyRepository.Page page = keys.list(request.getLimit(), request.getMarker());
            ListKeysResponse.Builder out = ListKeysResponse.newBuilder().setTruncated(page.truncated());
            for (ManagedKey key : page.keys()) {
                out.addKeys(KeyListEntry.newBuilder().setKeyId(key.id().toString()).setKeyArn(names.arn(key.id())));
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
            keys.enable(request.getKeyId());
            return EnableKeyResponse.getDefaultInstance();
        });
    }

    @Override
    public void disableKey(DisableKeyRequest request, StreamObserver<DisableKeyResponse> response) {
        unary(response, () -> {
            keys.disable(request.getKeyId());
            return DisableKeyResponse.getDefaultInstance();
        });
    }

    @Override
    public void encrypt(EncryptRequest request, StreamObserver<EncryptResponse> response) {
        unary(response, () -> {
            requireSymmetricDefault(request.getEncryptionAlgorithm());
            CryptoOperations.Sealed sealed = crypto.encrypt(
                    request.getKeyId(), request.getPlaintext().toByteArray(), request.getEncryptionContextMap());
            return EncryptResponse.newBuilder()
                    .setCiphertextBlob(ByteString.copyFrom(sealed.ciphertextBlob()))
                    .setKeyId(names.arn(sealed.key().id()))
                    .setEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                    .build();
        });
    }

    @Override
    public void decrypt(DecryptRequest request, StreamObserver<DecryptResponse> response) {
        unary(response, () -> {
            requireSymmetricDefault(request.getEncryptionAlgorithm());
            CryptoOperations.Opened opened = crypto.decrypt(
                    request.getCiphertextBlob().toByteArray(), request.getEncryptionContextMap(), request.getKeyId());
            try {
                return DecryptResponse.newBuilder()
                        .setKeyId(names.arn(opened.key().id()))
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
        unary(response, () -> {
            requireSymmetricDefault(request.getSourceEncryptionAlgorithm());
            requireSymmetricDefault(request.getDestinationEncryptionAlgorithm());
            CryptoOperations.ReSealed resealed = crypto.reEncrypt(request.getCiphertextBlob().toByteArray(),
                    request.getSourceEncryptionContextMap(), request.getSourceKeyId(),
                    request.getDestinationKeyId(), request.getDestinationEncryptionContextMap());
            return ReEncryptResponse.newBuilder()
                    .setCiphertextBlob(ByteString.copyFrom(resealed.ciphertextBlob()))
                    .setSourceKeyId(names.arn(resealed.source().id()))
                    .setKeyId(names.arn(resealed.destination().id()))
                    .setSourceEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                    .setDestinationEncryptionAlgorithm(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                    .build();
        });
    }

    @Override
    public void generateDataKey(GenerateDataKeyRequest request, StreamObserver<GenerateDataKeyResponse> response) {
        unary(response, () -> {
            int length = dataKeyLength(request.getKeySpec(), request.hasNumberOfBytes(), request.getNumberOfBytes());
            CryptoOperations.DataKey dataKey =
                    crypto.generateDataKey(request.getKeyId(), length, request.getEncryptionContextMap());
            try {
                return GenerateDataKeyResponse.newBuilder()
                        .setCiphertextBlob(ByteString.copyFrom(dataKey.ciphertextBlob()))
                        .setPlaintext(ByteString.copyFrom(dataKey.plaintext()))
                        .setKeyId(names.arn(dataKey.key().id()))
                        .build();
            } finally {
                Arrays.fill(dataKey.plaintext(), (byte) 0);
            }
        });
    }

    @Override
    public void generateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest request,
                                                StreamObserver<GenerateDataKeyWithoutPlaintextResponse> response) {
        unary(response, () -> {
            int length = dataKeyLength(request.getKeySpec(), request.hasNumberOfBytes(), request.getNumberOfBytes());
            CryptoOperations.DataKey dataKey =
                    crypto.generateDataKey(request.getKeyId(), length, request.getEncryptionContextMap());
            Arrays.fill(dataKey.plaintext(), (byte) 0);
            return GenerateDataKeyWithoutPlaintextResponse.newBuilder()
                    .setCiphertextBlob(ByteString.copyFrom(dataKey.ciphertextBlob()))
                    .setKeyId(names.arn(dataKey.key().id()))
                    .build();
        });
    }

    @Override
    public void generateRandom(GenerateRandomRequest request, StreamObserver<GenerateRandomResponse> response) {
        unary(response, () -> GenerateRandomResponse.newBuilder()
                .setPlaintext(ByteString.copyFrom(crypto.generateRandom(request.getNumberOfBytes())))
                .build());
    }

    private KeyMetadata metadata(ManagedKey key) {
        return KeyMetadata.newBuilder()
                .setKeyId(key.id().toString())
                .setArn(names.arn(key.id()))
                .setAccountId(key.accountId())
                .setCreationDate(Timestamp.newBuilder()
                        .setSeconds(key.createdAt().getEpochSecond())
                        .setNanos(key.createdAt().getNano()))
                .setEnabled(key.state() == io.hsmkms.server.core.KeyState.ENABLED)
                .setDescription(key.description())
                .setKeyState(switch (key.state()) {
                    case ENABLED -> KeyState.KEY_STATE_ENABLED;
                    case DISABLED -> KeyState.KEY_STATE_DISABLED;
                })
                .setKeyUsage(switch (key.usage()) {
                    case ENCRYPT_DECRYPT -> KeyUsage.KEY_USAGE_ENCRYPT_DECRYPT;
                })
                .setKeySpec(switch (key.spec()) {
                    case SYMMETRIC_DEFAULT -> io.hsmkms.proto.v1.KeySpec.KEY_SPEC_SYMMETRIC_DEFAULT;
                })
                .setOrigin(switch (key.origin()) {
                    case HSM -> OriginType.ORIGIN_HSM;
                })
                .addEncryptionAlgorithms(EncryptionAlgorithmSpec.ENCRYPTION_ALGORITHM_SYMMETRIC_DEFAULT)
                .setCurrentKeyVersion(key.currentVersion().number())
                .build();
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

    private static <R> void unary(StreamObserver<R> response, Supplier<R> handler) {
        R result;
        try {
            result = handler.get();
        } catch (RuntimeException failure) {
            response.onError(StatusMapper.toStatus(failure, RequestContext.current()));
            return;
        }
        response.onNext(result);
        response.onCompleted();
    }
}
