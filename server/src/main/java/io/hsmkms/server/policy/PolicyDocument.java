package io.hsmkms.server.policy;

import java.util.List;

/**
 * A parsed policy and the exact JSON it came from (returned unchanged by GetKeyPolicy).
 * {@link #evaluate} gives DENY if any applicable statement denies, else ALLOW if any allows, else NONE.
 */
public record PolicyDocument(String json, List<Statement> statements) {

    public PolicyDocument {
        statements = List.copyOf(statements);
    }

    public Decision evaluate(AccessRequest request) {
        Decision decision = Decision.NONE;
        for (Statement statement : statements) {
            if (statement.appliesTo(request)) {
                if (statement.effect() == Effect.DENY) {
                    return Decision.DENY;
                }
                decision = Decision.ALLOW;
            }
        }
        return decision;
    }
}
