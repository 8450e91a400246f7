package io.hsmkms.server.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The condition keys of one request and their values. Key names are case-insensitive, as in IAM,
 * except the part after {@code kms:EncryptionContext:}, which is matched exactly so that policies
 * can require an exact, case-sensitive encryption context.
 */
public final class ConditionContext {
    private static final String CONTEXT_PREFIX = "kms:encryptioncontext:";

    /** Keys as put, in order; a later key overrides an earlier one that normalizes the same. */
    private final String[] keys;
    private final List<String>[] keyValues;
    /**
     * Made from the keys on the first lookup. Most statements have no condition, so most requests never
     * look one up, and normalizing a dozen keys into a map for each was access control's largest
     * allocation. Racing first lookups each build an equal immutable map; either may win.
     */
    private Map<String, List<String>> values;

    private ConditionContext(String[] keys, List<String>[] keyValues) {
        this.keys = keys;
        this.keyValues = keyValues;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The values of a key; empty when the request does not have it. */
    public List<String> values(String key) {
        Map<String, List<String>> map = values;
        if (map == null) {
            Map<String, List<String>> normalized = new HashMap<>();
            for (int i = 0; i < keys.length; i++) {
                normalized.put(normalize(keys[i]), keyValues[i]);
            }
            map = Map.copyOf(normalized);
            values = map;
        }
        return map.getOrDefault(normalize(key), List.of());
    }

    boolean satisfies(Condition condition) {
        List<String> requestValues = values(condition.key());
        ConditionOperator op = condition.operator();
        if (op == ConditionOperator.NULL) {
            boolean absent = requestValues.isEmpty();
            return condition.values().stream().anyMatch(v -> Boolean.parseBoolean(v) == absent);
        }
        if (requestValues.isEmpty()) {
            if (condition.ifExists() || condition.qualifier() == Condition.Qualifier.FOR_ALL_VALUES) {
                return true;
            }
            // A missing key matches nothing, so a negated test ("must not equal") holds.
            return condition.qualifier() == Condition.Qualifier.NONE && op.negated();
        }
        boolean all = condition.qualifier() == Condition.Qualifier.FOR_ALL_VALUES
                || (condition.qualifier() == Condition.Qualifier.NONE && op.negated());
        for (String requestValue : requestValues) {
            boolean matched = condition.values().stream().anyMatch(p -> op.test(requestValue, p));
            boolean ok = op.negated() ? !matched : matched;
            if (all && !ok) {
                return false;
            }
            if (!all && ok) {
                return true;
            }
        }
        return all;
    }

    static String normalize(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        if (lower.startsWith(CONTEXT_PREFIX)) {
            return CONTEXT_PREFIX + key.substring(CONTEXT_PREFIX.length());
        }
        return lower;
    }

    public static final class Builder {
        private final List<String> keys = new ArrayList<>(16);
        private final List<List<String>> keyValues = new ArrayList<>(16);

        public Builder put(String key, String value) {
            if (value != null) {
                keys.add(key);
                keyValues.add(List.of(value));
            }
            return this;
        }

        public Builder putAll(String key, List<String> multiple) {
            keys.add(key);
            keyValues.add(List.copyOf(multiple));
            return this;
        }

        @SuppressWarnings("unchecked")
        public ConditionContext build() {
            return new ConditionContext(keys.toArray(new String[0]), keyValues.toArray(new List[0]));
        }
    }
}
