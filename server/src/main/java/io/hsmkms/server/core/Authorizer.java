package io.hsmkms.server.core;

import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.policy.AccessRequest;
import io.hsmkms.server.policy.ConditionContext;
import io.hsmkms.server.policy.Decision;
import io.hsmkms.server.policy.PolicyDocument;
import java.util.List;
import java.util.Map;

/**
 * Decides every request before it reaches the HSM, as AWS KMS does:
 * <ol>
 * <li>an explicit Deny in the key policy or in the caller's identity policies denies;</li>
 * <li>the key policy allows the caller directly; or</li>
 * <li>the key policy allows the caller's account root (delegation) and the caller's identity
 *     policies allow; or</li>
 * <li>for a caller from another account, the key policy must allow it (directly or through its
 *     account root) <em>and</em> its own identity policies must allow too; or</li>
 * <li>a grant on the key allows the caller;</li>
 * <li>otherwise: implicit deny.</li>
 * </ol>
 * Account-level actions (CreateKey, ListKeys, GenerateRandom) have no key policy: identity policies
 * decide, and an account's root principal may do them in its own account.
 */
public final class Authorizer {
    private final IdentityRegistry identities;

    public Authorizer(IdentityRegistry identities) {
        this.identities = identities;
    }

    /** The answer for a key action: allowed or not, and the grant that allowed it, if one did. */
    public record KeyDecision(boolean allowed, String grantId) {
        static final KeyDecision DENIED = new KeyDecision(false, null);
        static final KeyDecision BY_POLICY = new KeyDecision(true, null);
    }

    public boolean allowsKeyAction(Principal caller, String action, String keyAccount, String keyArn,
                                   PolicyDocument keyPolicy, ConditionContext context, List<Grant> grants,
                                   Map<String, String> encryptionContext) {
        return decideKeyAction(caller, action, keyAccount, keyArn, keyPolicy, context, () -> grants, encryptionContext)
                .allowed();
    }

    /**
     * @param grants the key's grants for this caller (others cannot allow it anything), asked for only when no
     *               policy allows the request: most calls are allowed by policy, and a key may carry up to 50,000 grants
     */
    public KeyDecision decideKeyAction(Principal caller, String action, String keyAccount, String keyArn,
                                       PolicyDocument keyPolicy, ConditionContext context,
                                       java.util.function.Supplier<List<Grant>> grants,
                                       Map<String, String> encryptionContext) {
        AccessRequest request = new AccessRequest(caller.arn(), action, keyArn, context);
        Decision byKeyPolicy = keyPolicy.evaluate(request);
        if (byKeyPolicy == Decision.DENY) {
            return KeyDecision.DENIED;
        }
        Decision byIdentity = caller.isAccountRoot() ? Decision.NONE : identities.evaluate(caller, request);
        if (byIdentity == Decision.DENY) {
            return KeyDecision.DENIED;
        }
        boolean delegated = keyPolicy.evaluate(request.as(caller.accountRootArn())) == Decision.ALLOW;
        boolean identityAllows = byIdentity == Decision.ALLOW;
        if (!caller.accountId().equals(keyAccount)) {
            // Across accounts both sides must agree: the key's owner and the caller's account.
            if ((byKeyPolicy == Decision.ALLOW || delegated) && (caller.isAccountRoot() || identityAllows)) {
                return KeyDecision.BY_POLICY;
            }
        } else if (byKeyPolicy == Decision.ALLOW || (delegated && identityAllows)) {
            return KeyDecision.BY_POLICY;
        }
        return GrantOperation.forAction(action)
                .flatMap(op -> grants.get().stream().filter(g -> g.allows(caller.arn(), op, encryptionContext)).findFirst())
                .map(g -> new KeyDecision(true, g.grantId()))
                .orElse(KeyDecision.DENIED);
    }

    public boolean allowsAccountAction(Principal caller, String action, String accountId, ConditionContext context) {
        if (!caller.accountId().equals(accountId)) {
            return false;
        }
        if (caller.isAccountRoot()) {
            return true;
        }
        return identities.evaluate(caller, new AccessRequest(caller.arn(), action, "*", context)) == Decision.ALLOW;
    }
}
