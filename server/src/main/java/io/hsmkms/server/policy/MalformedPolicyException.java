package io.hsmkms.server.policy;

/** A policy document that cannot be accepted. The message names the rule, never echoes the document. */
public final class MalformedPolicyException extends RuntimeException {
    public MalformedPolicyException(String message) {
        super(message, null, false, false);
    }
}
