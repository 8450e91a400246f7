package io.hsmkms.server.policy;

/** What is being asked: who, which action ({@code kms:Encrypt}), on which resource ARN, in which context. */
public record AccessRequest(String principalArn, String action, String resourceArn, ConditionContext context) {

    /** The same request as asked by another principal (used for the account-root delegation check). */
    public AccessRequest as(String otherPrincipalArn) {
        return new AccessRequest(otherPrincipalArn, action, resourceArn, context);
    }
}
