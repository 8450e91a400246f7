package io.hsmkms.server.core;

import io.hsmkms.server.policy.MalformedPolicyException;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Key policy texts: the default one, validation, and parsed documents cached by key and revision. */
public final class KeyPolicies {
    public static final String DEFAULT_POLICY_NAME = "default";
    private static final int MAX_CACHED = 10_000;

    private record Cached(long revision, PolicyDocument document) {}

    private final ConcurrentMap<UUID, Cached> parsed = new ConcurrentHashMap<>();

    /**
     * The policy a key gets when CreateKey names none: the account's root principal may do
     * everything, which delegates access to the account's identity policies (as in AWS KMS).
     */
    public static String defaultPolicy(String accountId) {
        return "{\"Version\":\"2012-10-17\",\"Id\":\"key-default-1\",\"Statement\":[{\"Sid\":\"Enable IAM policies\","
                + "\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + Principal.rootOf(accountId) + "\"},"
                + "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    }

    /** Parses a policy a caller supplied; errors become MalformedPolicyDocumentException. */
    public static PolicyDocument parse(String json) {
        try {
            return PolicyParser.parse(json, PolicyParser.Kind.KEY_POLICY);
        } catch (MalformedPolicyException e) {
            throw new KmsException(ErrorReason.MALFORMED_POLICY, e.getMessage());
        }
    }

    /** The parsed policy of a stored key; parsed once per key revision. */
    public PolicyDocument of(ManagedKey key) {
        Cached cached = parsed.get(key.id());
        if (cached != null && cached.revision() == key.revision()) {
            return cached.document();
        }
        PolicyDocument document = PolicyParser.parse(key.policy(), PolicyParser.Kind.KEY_POLICY);
        if (parsed.size() >= MAX_CACHED) {
            parsed.clear();
        }
        parsed.put(key.id(), new Cached(key.revision(), document));
        return document;
    }
}
