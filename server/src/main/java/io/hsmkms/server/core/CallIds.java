package io.hsmkms.server.core;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Request ids and audit event ids: random (version 4) UUIDs, like the AWS ids they stand for. They
 * name calls and records and must not repeat; nothing relies on them being unguessable (who may do
 * what is decided by authentication and policy, the trail's order and integrity by its sequence
 * numbers and hash chain). So they come from {@link ThreadLocalRandom}, not from
 * {@link UUID#randomUUID()}, whose one SecureRandom every call took twice, under a lock
 * (docs/benchmarks.md). Key ids, which name key material, stay with {@code UUID.randomUUID()}.
 */
public final class CallIds {
    private CallIds() {}

    public static String next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long low = (random.nextLong() & ~0xC000000000000000L) | 0x8000000000000000L; // the RFC 9562 variant
        return new UUID(high, low).toString();
    }
}
