package io.hsmkms.client;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DisableKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.KeyMetadata;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A first round trip against a running server over mutual TLS with the development certificates
 * (bin/serve makes them): "admin" creates a key, "app" encrypts and decrypts with its encryption
 * context, and the service refuses what app's policy does not allow.
 * Usage: {@code QuickStart PKI_DIR [host:port]} (default 127.0.0.1:7700).
 */
public final class QuickStart {
    private static final String MESSAGE = "hello from a key that never leaves the HSM";
    private static final List<ManagedChannel> CHANNELS = new ArrayList<>();

    private QuickStart() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: QuickStart PKI_DIR [host:port]");
            System.exit(2);
        }
        Path pki = Path.of(args[0]);
        String target = args.length > 1 ? args[1] : "127.0.0.1:7700";
        Map<String, String> context = Map.of("app", "quickstart");
        try {
            KeyManagementServiceBlockingStub admin = stub(target, pki, "admin");
            KeyManagementServiceBlockingStub app = stub(target, pki, "app");
            KeyMetadata key = admin.createKey(CreateKeyRequest.newBuilder().setDescription("quick start").build())
                    .getKeyMetadata();
            System.out.println("admin created key    " + key.getArn());

            EncryptResponse encrypted = app.encrypt(EncryptRequest.newBuilder().setKeyId(key.getKeyId())
                    .setPlaintext(ByteString.copyFromUtf8(MESSAGE)).putAllEncryptionContext(context).build());
            System.out.println("app encrypted        " + Base64.getEncoder().encodeToString(encrypted.getCiphertextBlob().toByteArray()));

            String decrypted = app.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(encrypted.getCiphertextBlob())
                    .putAllEncryptionContext(context).build()).getPlaintext().toStringUtf8();
            System.out.println("app decrypted        " + decrypted);

            expectRefusal("app, other context  ", () -> app.decrypt(DecryptRequest.newBuilder()
                    .setCiphertextBlob(encrypted.getCiphertextBlob()).putAllEncryptionContext(Map.of("app", "other")).build()));
            expectRefusal("app, DisableKey     ", () -> app.disableKey(DisableKeyRequest.newBuilder().setKeyId(key.getKeyId()).build()));
        } catch (StatusRuntimeException e) {
            System.err.println("request failed: " + e.getStatus().getCode() + " / " + reason(e)
                    + " (is the server running? start it with bin/serve)");
            System.exit(1);
        } finally {
            for (ManagedChannel channel : CHANNELS) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static void expectRefusal(String label, Runnable call) {
        try {
            call.run();
            System.out.println(label + " UNEXPECTEDLY ALLOWED");
            System.exit(1);
        } catch (StatusRuntimeException e) {
            System.out.println(label + " refused: " + e.getStatus().getCode() + " / " + reason(e));
        }
    }

    private static KeyManagementServiceBlockingStub stub(String target, Path pki, String name) throws SSLException {
        ManagedChannel channel = NettyChannelBuilder.forTarget(target)
                .overrideAuthority("localhost")
                .sslContext(GrpcSslContexts.forClient()
                        .trustManager(file(pki, "ca.pem"))
                        .keyManager(file(pki, name + ".pem"), file(pki, name + ".key"))
                        .build())
                .build();
        CHANNELS.add(channel);
        return KeyManagementServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static File file(Path dir, String name) {
        return dir.resolve(name).toFile();
    }

    /** The error reason the server puts in google.rpc.ErrorInfo, e.g. AccessDeniedException. */
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
}
