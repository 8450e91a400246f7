package io.hsmkms.client;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DecryptResponse;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyMetadata;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A first round trip against a running server: create a key, encrypt a message under it with an
 * encryption context, decrypt it back, and show that a wrong context is refused.
 * Usage: {@code QuickStart [host:port] [message]} (default 127.0.0.1:7700).
 */
public final class QuickStart {
    private QuickStart() {}

    /** The error reason the server puts in google.rpc.ErrorInfo, e.g. InvalidCiphertextException. */
    private static String reason(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status != null) {
            for (com.google.protobuf.Any detail : status.getDetailsList()) {
                if (detail.is(ErrorInfo.class)) {
                    try {
                        return detail.unpack(ErrorInfo.class).getReason();
                    } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
                        break;
                    }
                }
            }
        }
        return "no reason given";
    }

    public static void main(String[] args) throws InterruptedException {
        String target = args.length > 0 ? args[0] : "127.0.0.1:7700";
        String message = args.length > 1 ? args[1] : "hello from a key that never leaves the HSM";
        Map<String, String> context = Map.of("app", "quickstart");
        ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            var kms = KeyManagementServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            KeyMetadata key = kms.createKey(CreateKeyRequest.newBuilder().setDescription("quick start").build())
                    .getKeyMetadata();
            System.out.println("created key   " + key.getArn());

            EncryptResponse encrypted = kms.encrypt(EncryptRequest.newBuilder().setKeyId(key.getKeyId())
                    .setPlaintext(ByteString.copyFromUtf8(message)).putAllEncryptionContext(context).build());
            System.out.println("ciphertext    " + Base64.getEncoder().encodeToString(encrypted.getCiphertextBlob().toByteArray()));

            DecryptResponse decrypted = kms.decrypt(DecryptRequest.newBuilder()
                    .setCiphertextBlob(encrypted.getCiphertextBlob()).putAllEncryptionContext(context).build());
            System.out.println("decrypted     " + decrypted.getPlaintext().toStringUtf8());

            try {
                kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(encrypted.getCiphertextBlob())
                        .putAllEncryptionContext(Map.of("app", "someone-else")).build());
                System.out.println("wrong context UNEXPECTEDLY DECRYPTED");
                System.exit(1);
            } catch (StatusRuntimeException e) {
                System.out.println("wrong context refused: " + e.getStatus().getCode() + " / " + reason(e));
            }
        } catch (StatusRuntimeException e) {
            System.err.println("request failed: " + e.getStatus().getCode() + " / " + reason(e)
                    + " (is the server running? start it with bin/serve)");
            System.exit(1);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
