package io.hsmkms.server.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An authenticated caller. {@code arn} is {@code arn:hsmkms:iam::<account>:root}, {@code :user/<name>}
 * or {@code :role/<name>}; the account is a tenant.
 *
 * @param tags        verified principal tags (condition key aws:PrincipalTag/&lt;k&gt;)
 * @param groups      group names whose identity policies apply to this principal
 * @param viaService  the service this identity acts through (condition key kms:ViaService), or null
 * @param mfa         whether the credential was issued after multi-factor authentication
 * @param authTime    when the caller authenticated (for aws:MultiFactorAuthAge), or null
 * @param method      how the caller authenticated
 * @param sourceIp    the peer address, or null
 */
public record Principal(String arn, Map<String, String> tags, List<String> groups, String viaService, boolean mfa,
                        Instant authTime, AuthMethod method, String sourceIp) {
    private static final String ARN_PREFIX = "arn:hsmkms:iam::";
    private static final Pattern ARN = Pattern.compile(ARN_PREFIX + "([0-9]{12}):(root|(user|role)/[A-Za-z0-9+=,.@_/-]{1,512})");

    public enum AuthMethod { MTLS, TOKEN, INSECURE_DEV }

    public Principal {
        Objects.requireNonNull(arn, "arn");
        if (!ARN.matcher(arn).matches()) {
            throw new IllegalArgumentException("principal ARNs are arn:hsmkms:iam::<12 digits>:root|user/<name>|role/<name>");
        }
        tags = Map.copyOf(tags);
        groups = List.copyOf(groups);
        Objects.requireNonNull(method, "method");
    }

    public static boolean isValidArn(String arn) {
        return arn != null && ARN.matcher(arn).matches();
    }

    public String accountId() {
        // The constructor checked the form: the account is the 12 digits after the prefix. Asked several
        // times a call, so no regex here.
        return arn.substring(ARN_PREFIX.length(), ARN_PREFIX.length() + 12);
    }

    /** The account's root principal: key policy statements naming it delegate to identity policies. */
    public String accountRootArn() {
        return rootOf(accountId());
    }

    public boolean isAccountRoot() {
        return arn.equals(accountRootArn());
    }

    public static String rootOf(String accountId) {
        return "arn:hsmkms:iam::" + accountId + ":root";
    }

    /** The same principal as seen from another address (the peer is known only per call). */
    public Principal from(String peerIp) {
        return new Principal(arn, tags, groups, viaService, mfa, authTime, method, peerIp);
    }
}
