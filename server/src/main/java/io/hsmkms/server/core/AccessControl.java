package io.hsmkms.server.core;

import io.hsmkms.server.auth.IdentityRegistry;
import io.hsmkms.server.policy.AccessRequest;
import io.hsmkms.server.policy.ConditionContext;
import io.hsmkms.server.policy.Decision;
import io.hsmkms.server.store.GrantRepository;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds each request's condition keys and asks the {@link Authorizer}. Every handler calls it
 * after loading the key and before checking state or calling the HSM, so a denied request never
 * reaches the HSM. Denials say who was refused what, never why (no policy text).
 */
public final class AccessControl {
    private final Authorizer authorizer;
    private final IdentityRegistry identities;
    private final KeyPolicies policies;
    private final GrantRepository grants;
    private final KeyNames names;
    private final Clock clock;
    private volatile Second lastSecond;

    public AccessControl(IdentityRegistry identities, KeyPolicies policies, GrantRepository grants, KeyNames names,
                         Clock clock) {
        this.authorizer = new Authorizer(identities);
        this.identities = identities;
        this.policies = policies;
        this.grants = grants;
        this.names = names;
        this.clock = clock;
    }

    /** Refuses unless the caller may do {@code action} with {@code key}. */
    public void requireKeyAction(Principal caller, String action, ManagedKey key, Map<String, String> encryptionContext,
                                 Consumer<ConditionContext.Builder> extraKeys) {
        ConditionContext.Builder context = base(caller);
        keyFacts(context, key);
        if (encryptionContext != null) {
            encryptionContext.forEach((k, v) -> context.put("kms:EncryptionContext:" + k, v));
            context.putAll("kms:EncryptionContextKeys", new ArrayList<>(encryptionContext.keySet()));
        }
        extraKeys.accept(context);
        java.util.function.Supplier<List<Grant>> keyGrants = GrantOperation.forAction(action).isPresent()
                ? () -> grants.forGrantee(key.id(), caller.arn()) : List::of;
        Authorizer.KeyDecision decision = authorizer.decideKeyAction(caller, action, key.accountId(), names.arn(key),
                policies.of(key), context.build(), keyGrants, encryptionContext == null ? Map.of() : encryptionContext);
        CallNotes.encryptionContext(key, encryptionContext);
        if (!decision.allowed()) {
            throw denied(caller, action);
        }
        if (decision.grantId() != null) {
            CallNotes.grant(decision.grantId());
        }
    }

    /** Refuses unless the caller may do an account-level action (no key involved) in its account. */
    public void requireAccountAction(Principal caller, String action, Consumer<ConditionContext.Builder> extraKeys) {
        ConditionContext.Builder context = base(caller);
        extraKeys.accept(context);
        if (!authorizer.allowsAccountAction(caller, action, caller.accountId(), context.build())) {
            throw denied(caller, action);
        }
    }

    /**
     * What to say when a named key does not exist: NotFound to callers who could describe keys of
     * that account, AccessDenied to everyone else, so existence leaks to no one who may not know it.
     */
    public KmsException missingKey(Principal caller, KeyNames.KeyRef ref, String action) {
        String arn = names.arn(ref.accountId(), ref.id());
        return missing(caller, ref.accountId(), arn, "Key '" + arn + "' does not exist.", action);
    }

    /** The same rule for an alias that names no key. */
    public KmsException missingAlias(Principal caller, KeyNames.AliasRef ref, String action) {
        String arn = names.aliasArn(ref.accountId(), ref.name());
        return missing(caller, ref.accountId(), arn, "Alias '" + ref.name() + "' does not exist.", action);
    }

    private KmsException missing(Principal caller, String accountId, String arn, String notFound, String action) {
        boolean mayKnow = caller.accountId().equals(accountId) && (caller.isAccountRoot()
                || identities.evaluate(caller, new AccessRequest(caller.arn(), "kms:DescribeKey", arn,
                        base(caller).build())) == Decision.ALLOW);
        return mayKnow ? new KmsException(ErrorReason.NOT_FOUND, notFound) : denied(caller, action);
    }

    /** Whether the caller's identity policies (not the key policy) allow a request. */
    boolean identityAllows(Principal caller, AccessRequest request) {
        return identities.evaluate(caller, request) == Decision.ALLOW;
    }

    /** Condition keys that describe the caller and the moment. */
    public ConditionContext.Builder base(Principal caller) {
        Instant now = clock.instant();
        Second second = second(now);
        ConditionContext.Builder context = ConditionContext.builder()
                .put("aws:PrincipalArn", caller.arn())
                .put("aws:PrincipalAccount", caller.accountId())
                .put("kms:CallerAccount", caller.accountId())
                .put("aws:CurrentTime", second.isoText())
                .put("aws:EpochTime", second.epochText())
                .put("aws:SourceIp", caller.sourceIp())
                .put("kms:ViaService", caller.viaService())
                .put("aws:MultiFactorAuthPresent", Boolean.toString(caller.mfa()));
        if (caller.mfa() && caller.authTime() != null) {
            long age = Math.max(0, Duration.between(caller.authTime(), now).toSeconds());
            context.put("aws:MultiFactorAuthAge", Long.toString(age));
        }
        caller.tags().forEach((k, v) -> context.put("aws:PrincipalTag/" + k, v));
        return context;
    }

    /**
     * aws:CurrentTime and aws:EpochTime, both to the second as AWS gives them, formatted once a second
     * instead of on every call (formatting the instant was about 1 % of the server's CPU samples).
     */
    private Second second(Instant now) {
        Second last = lastSecond;
        if (last == null || last.epochSecond() != now.getEpochSecond()) {
            last = new Second(now.getEpochSecond(), Instant.ofEpochSecond(now.getEpochSecond()).toString(),
                    Long.toString(now.getEpochSecond()));
            lastSecond = last;
        }
        return last;
    }

    private record Second(long epochSecond, String isoText, String epochText) {}

    static void keyFacts(ConditionContext.Builder context, ManagedKey key) {
        context.put("kms:KeyOrigin", key.origin().name())
                .put("kms:KeySpec", key.spec().name())
                .put("kms:KeyUsage", key.usage().name());
        key.tags().forEach((k, v) -> context.put("aws:ResourceTag/" + k, v));
    }

    private static KmsException denied(Principal caller, String action) {
        return new KmsException(ErrorReason.ACCESS_DENIED,
                caller.arn() + " is not authorized to perform " + action + " on the requested resource.");
    }
}
