package io.hsmkms.client.envelope;

import java.util.SortedMap;

/** Where encryption gets its data keys: straight from the service, or through a cache. */
interface DataKeySource {
    /**
     * A data key for one message; the caller closes it.
     *
     * @param plaintextLength the message length, or -1 when not known in advance (a pipe)
     */
    DataKey dataKeyFor(String keyId, SortedMap<String, String> context, long plaintextLength);
}
