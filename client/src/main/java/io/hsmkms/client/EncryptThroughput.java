package io.hsmkms.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A rough closed-loop Encrypt throughput check against a running server: T client threads, each
 * with one call in flight, for a warm-up and then a measured period. Not a benchmark harness
 * (no baselines, one operation); it gives a first figure to compare later work against.
 * It connects over mutual TLS as the development "admin" (bin/serve's certificates), so the figure
 * includes authentication and authorization.
 * Usage: {@code EncryptThroughput PKI_DIR host:port threads seconds payloadBytes}
 */
public final class EncryptThroughput {
    private EncryptThroughput() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: EncryptThroughput PKI_DIR host:port threads seconds payloadBytes");
            System.exit(2);
        }
        java.nio.file.Path pki = java.nio.file.Path.of(args[0]);
        String target = args[1];
        int threads = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        ByteString payload = ByteString.copyFrom(new byte[Integer.parseInt(args[4])]);
        ManagedChannel channel = NettyChannelBuilder.forTarget(target).overrideAuthority("localhost")
                .sslContext(io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient()
                        .trustManager(pki.resolve("ca.pem").toFile())
                        .keyManager(pki.resolve("admin.pem").toFile(), pki.resolve("admin.key").toFile())
                        .build())
                .build();
        try {
            var kms = KeyManagementServiceGrpc.newBlockingStub(channel);
            String keyId = kms.createKey(CreateKeyRequest.newBuilder().setDescription("throughput").build())
                    .getKeyMetadata().getKeyId();
            EncryptRequest request = EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(payload)
                    .putAllEncryptionContext(Map.of("service", "orders", "tenant", "acme")).build();
            run(kms, request, threads, 3);
            long[] latencies = run(kms, request, threads, seconds);
            Arrays.sort(latencies);
            System.out.printf("threads=%d payload=%dB ops=%d ops/s=%.0f p50=%.2fms p99=%.2fms%n", threads, payload.size(),
                    latencies.length, latencies.length / (double) seconds,
                    latencies[latencies.length / 2] / 1e6, latencies[(int) (latencies.length * 0.99)] / 1e6);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static long[] run(KeyManagementServiceGrpc.KeyManagementServiceBlockingStub kms, EncryptRequest request,
                              int threads, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<long[]>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(pool.submit(() -> {
                    long[] samples = new long[1024];
                    int n = 0;
                    while (System.nanoTime() < deadline) {
                        long start = System.nanoTime();
                        kms.encrypt(request);
                        if (n == samples.length) {
                            samples = Arrays.copyOf(samples, n * 2);
                        }
                        samples[n++] = System.nanoTime() - start;
                    }
                    return Arrays.copyOf(samples, n);
                }));
            }
            List<long[]> all = new ArrayList<>();
            for (Future<long[]> worker : workers) {
                all.add(worker.get());
            }
            return all.stream().flatMapToLong(Arrays::stream).toArray();
        } finally {
            pool.shutdownNow();
        }
    }
}
