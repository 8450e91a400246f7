package io.hsmkms.server.policy;

import java.util.List;

/**
 * One policy statement. {@code principals} is null in identity policies (they apply to the
 * principal they are attached to); {@code "*"} in it means everyone.
 */
public record Statement(
        String sid,
        Effect effect,
        List<String> principals,
        boolean notPrincipal,
        List<String> actions,
        boolean notAction,
        List<String> resources,
        boolean notResource,
        List<Condition> conditions) {

    public Statement {
        principals = principals == null ? null : List.copyOf(principals);
        actions = List.copyOf(actions);
        resources = List.copyOf(resources);
        conditions = List.copyOf(conditions);
    }

    boolean appliesTo(AccessRequest request) {
        return principalMatches(request.principalArn())
                && anyMatch(actions, request.action(), true) != notAction
                && anyMatch(resources, request.resourceArn(), false) != notResource
                && conditions.stream().allMatch(request.context()::satisfies);
    }

    private boolean principalMatches(String principalArn) {
        if (principals == null) {
            return true;
        }
        boolean listed = principals.contains("*") || principals.contains(principalArn);
        return listed != notPrincipal;
    }

    private static boolean anyMatch(List<String> patterns, String value, boolean ignoreCase) {
        for (String pattern : patterns) {
            if (Wildcards.matches(pattern, value, ignoreCase)) {
                return true;
            }
        }
        return false;
    }
}
