package io.hsmkms.client.envelope;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What an envelope said about itself once it was fully authenticated.
 *
 * @param keyArn         the KMS key that encrypted the data key
 * @param context        the encryption context bound to the message
 * @param plaintextBytes the length of the plaintext
 */
public record EnvelopeInfo(String keyArn, SortedMap<String, String> context, long plaintextBytes) {
    public EnvelopeInfo {
        context = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(context));
    }

    static EnvelopeInfo of(String keyArn, Map<String, String> context, long plaintextBytes) {
        return new EnvelopeInfo(keyArn, new TreeMap<>(context), plaintextBytes);
    }
}
