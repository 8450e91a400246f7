package io.hsmkms.client.envelope;

import io.hsmkms.client.KmsClient;
import io.hsmkms.proto.v1.GenerateDataKeyResponse;
import java.util.SortedMap;

/** A fresh AES-256 data key from GenerateDataKey for every message. */
final class KmsDataKeySource implements DataKeySource {
    private final KmsClient kms;

    KmsDataKeySource(KmsClient kms) {
        this.kms = kms;
    }

    @Override
    public DataKey dataKeyFor(String keyId, SortedMap<String, String> context, long plaintextLength) {
        GenerateDataKeyResponse response = kms.generateDataKey(keyId, context);
        // toByteArray copies; the response's own ByteString cannot be zeroed (see docs/client.md).
        return new DataKey(response.getPlaintext().toByteArray(), response.getCiphertextBlob().toByteArray(),
                response.getKeyId());
    }
}
