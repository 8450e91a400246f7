package io.hsmkms.server.tools;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hsmkms.server.ServerConfig;
import java.io.File;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A container health check: asks the server on this host for its standard gRPC health status and exits 0 when it
 * is SERVING (the server reports NOT_SERVING when its periodic real HSM operation fails), 1 otherwise. Reads the
 * server's own settings (HSMKMS_PORT, HSMKMS_LISTEN_ADDRESS, HSMKMS_TLS_CERT_FILE) so that one set of environment
 * variables configures both. Over TLS it trusts {@value #CA_FILE} when set, else the server's own certificate chain
 * file (pinning this server exactly), and checks the name {@value #AUTHORITY} (default localhost). The health service
 * needs no credentials. Exists because the image has no grpcurl or grpc_health_probe.
 */
public final class HealthCheck {
    public static final String CA_FILE = "HSMKMS_HEALTHCHECK_CA_FILE";
    public static final String AUTHORITY = "HSMKMS_HEALTHCHECK_AUTHORITY";

    private HealthCheck() {}

    public static void main(String[] args) {
        int exit;
        try {
            exit = check(System.getenv(), Duration.ofSeconds(5)) ? 0 : 1;
        } catch (RuntimeException | java.io.IOException e) {
            System.out.println("hsmkms health: " + e.getMessage());
            exit = 1;
        }
        System.exit(exit);
    }

    /** True when the server answers SERVING within the timeout; prints one line saying what it found. */
    public static boolean check(Map<String, String> env, Duration timeout) throws java.io.IOException {
        String listen = env.getOrDefault(ServerConfig.LISTEN_ADDRESS, "127.0.0.1").trim();
        // A server bound to every address is reachable on loopback; ask there, not across the network.
        String host = listen.equals("0.0.0.0") || listen.equals("::") || listen.isEmpty() ? "127.0.0.1" : listen;
        int port = Integer.parseInt(env.getOrDefault(ServerConfig.PORT, Integer.toString(ServerConfig.DEFAULT_PORT)).trim());
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
        String cert = env.get(ServerConfig.TLS_CERT_FILE);
        if (cert == null || cert.isBlank()) {
            builder.usePlaintext();
        } else {
            String ca = env.getOrDefault(CA_FILE, "");
            builder.sslContext(GrpcSslContexts.forClient().trustManager(new File(ca.isBlank() ? cert.trim() : ca.trim())).build())
                    .overrideAuthority(env.getOrDefault(AUTHORITY, "localhost"));
        }
        ManagedChannel channel = builder.build();
        try {
            ServingStatus status = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus();
            System.out.println("hsmkms health: " + status);
            return status == ServingStatus.SERVING;
        } catch (StatusRuntimeException e) {
            System.out.println("hsmkms health: " + e.getStatus().getCode());
            return false;
        } finally {
            channel.shutdownNow();
        }
    }
}
