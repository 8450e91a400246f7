package io.hsmkms.server.core;

import io.hsmkms.hsm.HsmException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Translates HSM failures the caller cannot act on into the service's error reasons. */
final class HsmCalls {
    private static final Logger LOG = LoggerFactory.getLogger(HsmCalls.class);
    private HsmCalls() {}

    static <T> T call(Supplier<T> call) {
        try {
            return call.get();
        } catch (HsmException e) {
            throw translate(e);
        }
    }

    static KmsException translate(HsmException e) {
        return switch (e.reason()) {
            case BUSY -> new KmsException(ErrorReason.DEPENDENCY_TIMEOUT, "The HSM is busy; retry.");
            case SESSION, DEVICE -> new KmsException(ErrorReason.HSM_UNAVAILABLE, "The HSM is unavailable.");
            // Metadata names material the HSM does not have, or the HSM refuses a key we made:
            // both are internal faults, never the caller's.
            case DATA, KEY_USAGE, NOT_FOUND, ALREADY_EXISTS -> {
                // The caller sees only "internal error"; the operator needs to know which HSM call failed how.
                LOG.error("HSM call failed as an internal fault: {}", e.getMessage());
                yield new KmsException(ErrorReason.INTERNAL, "Internal error.");
            }
        };
    }
}
