package io.hsmkms.bench;

import com.google.protobuf.ByteString;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.EncryptResponse;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * The gRPC floor: the same transport (mutual TLS on loopback), the same request and response
 * messages and sizes as Encrypt, and no work at all in between. A separate process, like the server.
 * Usage: {@code EchoServer PKI_DIR}; prints "echo listening on PORT".
 */
public final class EchoServer {
    static final String SERVICE = "bench.Echo";
    static final MethodDescriptor<EncryptRequest, EncryptResponse> ENCRYPT = MethodDescriptor
            .<EncryptRequest, EncryptResponse>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Encrypt"))
            .setRequestMarshaller(ProtoUtils.marshaller(EncryptRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(EncryptResponse.getDefaultInstance()))
            .build();
    /** What a KMS ciphertext adds to a plaintext: header, IV and tag (docs/ciphertext-format.md). */
    private static final ByteString OVERHEAD = ByteString.copyFrom(new byte[50]);

    private EchoServer() {}

    public static void main(String[] args) throws Exception {
        Path pki = Path.of(args[0]);
        ServerServiceDefinition echo = ServerServiceDefinition.builder(SERVICE)
                .addMethod(ENCRYPT, ServerCalls.asyncUnaryCall((request, response) -> {
                    response.onNext(EncryptResponse.newBuilder().setKeyId(request.getKeyId())
                            .setCiphertextBlob(OVERHEAD.concat(request.getPlaintext())).build());
                    response.onCompleted();
                }))
                .build();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(GrpcSslContexts.forServer(pki.resolve("server.pem").toFile(), pki.resolve("server.key").toFile())
                        .trustManager(pki.resolve("ca.pem").toFile()).clientAuth(ClientAuth.REQUIRE).build())
                .addService(echo)
                .build()
                .start();
        System.out.println("echo listening on " + server.getPort());
        System.out.flush();
        server.awaitTermination();
    }
}
