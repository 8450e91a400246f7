package io.hsmkms.client.envelope;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/** The parsed, not yet authenticated, header of an envelope (see docs/envelope-format.md). */
record Header(int frameSize, byte[] messageId, String keyArn, byte[] encryptedDataKey,
              SortedMap<String, String> context) {
    Header {
        messageId = messageId.clone();
        encryptedDataKey = encryptedDataKey.clone();
        context = Collections.unmodifiableSortedMap(new TreeMap<>(context));
    }

    @Override
    public byte[] messageId() {
        return messageId.clone();
    }

    @Override
    public byte[] encryptedDataKey() {
        return encryptedDataKey.clone();
    }

    @Override
    public String toString() {
        return "Header[frameSize=" + frameSize + ", key=" + keyArn + ", context=" + context.keySet() + "]";
    }
}
