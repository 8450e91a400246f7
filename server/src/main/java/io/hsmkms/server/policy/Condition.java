package io.hsmkms.server.policy;

import java.util.List;

/**
 * One test in a statement's Condition block: {@code "Operator": {"key": [values]}}, with the
 * operator's set qualifier (ForAnyValue / ForAllValues) and IfExists suffix split out. Values are
 * checked for the operator's type when the policy is parsed, so evaluation cannot fail on them.
 */
public record Condition(ConditionOperator operator, Qualifier qualifier, boolean ifExists, String key, List<String> values) {

    public enum Qualifier {
        NONE,
        FOR_ANY_VALUE,
        FOR_ALL_VALUES
    }

    public Condition {
        values = List.copyOf(values);
    }
}
