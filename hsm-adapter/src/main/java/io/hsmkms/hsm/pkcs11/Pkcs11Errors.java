package io.hsmkms.hsm.pkcs11;

import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmException.Reason;
import java.util.Locale;
import javax.crypto.AEADBadTagException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that turns SunPKCS11 failures into {@link HsmException} reasons. SunPKCS11 wraps
 * the PKCS#11 return value (CKR_...) in exceptions of internal classes, so the classification reads
 * their messages; the CKR_ name itself goes only to the DEBUG log, never into the exception.
 */
final class Pkcs11Errors {
    private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Errors.class);

    private Pkcs11Errors() {}

    static HsmException classify(String operation, Throwable failure) {
        if (failure instanceof HsmException hsm) {
            return hsm;
        }
        Reason reason = reasonFor(failure);
        if (LOG.isDebugEnabled()) {
            LOG.debug("{} failed as {}: {}", operation, reason, rootDescription(failure));
        }
        return new HsmException(reason, operation);
    }

    private static Reason reasonFor(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof AEADBadTagException) {
                return Reason.DATA;
            }
            String message = t.getMessage() == null ? "" : t.getMessage().toUpperCase(Locale.ROOT);
            if (message.contains("CKR_ENCRYPTED_DATA") || message.contains("CKR_DATA_")) {
                return Reason.DATA;
            }
            if (message.contains("CKR_KEY_") || message.contains("CKR_MECHANISM")
                    || message.contains("CKR_OBJECT_HANDLE_INVALID")) {
                return Reason.KEY_USAGE;
            }
            if (message.contains("CKR_SESSION") || message.contains("NO MORE SESSIONS")
                    || message.contains("COULD NOT OBTAIN SESSION")) {
                return Reason.SESSION;
            }
        }
        return Reason.DEVICE;
    }

    private static String rootDescription(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
