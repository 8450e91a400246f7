package io.hsmkms.server.core;

import io.hsmkms.server.policy.MalformedPolicyException;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Key policy texts: the default one, validation, and parsed documents cached by text. */
public final class KeyPolicies {
    public static final String DEFAULT_POLICY_NAME = "default";
    /** Bounds on the parsed documents kept: distinct texts, and their total length (32 KB policies are allowed). */
    private static final int MAX_CACHED = 10_000;
    private static final long MAX_CACHED_CHARS = 16L << 20;

    /**
     * Keyed by the policy text, not the key: keys mostly share a few texts (every key with the default policy of
     * an account has the same one), so 100,000 keys need a handful of parsed documents where a cache per key
     * kept 10,000 and parsed again on most calls past that. A changed policy is a new text.
     */
    private final ConcurrentMap<String, PolicyDocument> parsed = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong cachedChars = new java.util.concurrent.atomic.AtomicLong();

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

    /** The parsed policy of a stored key; each distinct text is parsed once while it stays cached. */
    public PolicyDocument of(ManagedKey key) {
        String text = key.policy();
        PolicyDocument document = parsed.get(text);
        if (document != null) {
            return document;
        }
        document = PolicyParser.parse(text, PolicyParser.Kind.KEY_POLICY);
        if (parsed.size() >= MAX_CACHED || cachedChars.get() + text.length() > MAX_CACHED_CHARS) {
            // Rare (many distinct large policies): start over rather than track use.
            parsed.clear();
            cachedChars.set(0);
        }
        if (parsed.putIfAbsent(text, document) == null) {
            cachedChars.addAndGet(text.length());
        }
        return document;
    }

    /** Distinct policy texts parsed and kept now (tests). */
    int cachedDocuments() {
        return parsed.size();
    }
}
