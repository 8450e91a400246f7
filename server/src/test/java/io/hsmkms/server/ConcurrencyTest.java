package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DataKeySpec;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.DescribeKeyRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.proto.v1.GenerateDataKeyRequest;
import io.hsmkms.proto.v1.GenerateDataKeyResponse;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ReEncryptRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ConcurrencyTest {
    private static final int THREADS = 8;
    private static final int ROUNDS = 40;

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void eightClientThreads_mixingAllOperations_getCorrectResultsAndNoErrors() throws Exception {
        KeyManagementServiceBlockingStub kms = server.kms();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            keys.add(kms.createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId());
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(pool.submit(() -> runMix(thread, keys)));
            }
            int checks = 0;
            for (Future<Integer> worker : workers) {
                checks += worker.get(5, TimeUnit.MINUTES);
            }
            assertThat(checks).isEqualTo(THREADS * ROUNDS * 4);
        } finally {
            pool.shutdownNow();
        }
    }

    /** One thread's share: encrypt, decrypt, data key, re-encrypt, describe; every result checked. */
    private static int runMix(int thread, List<String> keys) {
        KeyManagementServiceBlockingStub kms = server.kms();
        int checks = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String key = keys.get((thread + round) % keys.size());
            String next = keys.get((thread + round + 1) % keys.size());
            Map<String, String> context = Map.of("thread", Integer.toString(thread), "round", Integer.toString(round));
            ByteString plaintext = ByteString.copyFromUtf8("t" + thread + "r" + round + "-".repeat(round));

            ByteString blob = kms.encrypt(EncryptRequest.newBuilder().setKeyId(key).setPlaintext(plaintext)
                    .putAllEncryptionContext(context).build()).getCiphertextBlob();
            assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(blob).putAllEncryptionContext(context)
                    .build()).getPlaintext()).isEqualTo(plaintext);
            checks++;

            GenerateDataKeyResponse dataKey = kms.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(key)
                    .setKeySpec(DataKeySpec.DATA_KEY_SPEC_AES_256).putAllEncryptionContext(context).build());
            assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(dataKey.getCiphertextBlob())
                    .putAllEncryptionContext(context).build()).getPlaintext()).isEqualTo(dataKey.getPlaintext());
            checks++;

            ByteString moved = kms.reEncrypt(ReEncryptRequest.newBuilder().setCiphertextBlob(blob)
                    .putAllSourceEncryptionContext(context).setDestinationKeyId(next).build()).getCiphertextBlob();
            assertThat(kms.decrypt(DecryptRequest.newBuilder().setCiphertextBlob(moved).setKeyId(next).build())
                    .getPlaintext()).isEqualTo(plaintext);
            checks++;

            assertThat(kms.describeKey(DescribeKeyRequest.newBuilder().setKeyId(key).build()).getKeyMetadata()
                    .getKeyId()).isEqualTo(key);
            checks++;
        }
        return checks;
    }
}
