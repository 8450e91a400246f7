package io.hsmkms.server.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

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
    private static final int MAX_NAME_LENGTH = 512;

    public enum AuthMethod { MTLS, TOKEN, INSECURE_DEV }

    public Principal {
        Objects.requireNonNull(arn, "arn");
        if (!isValidArn(arn)) {
            throw new IllegalArgumentException("principal ARNs are arn:hsmkms:iam::<12 digits>:root|user/<name>|role/<name>");
        }
        tags = Map.copyOf(tags);
        groups = List.copyOf(groups);
        Objects.requireNonNull(method, "method");
    }

    /**
     * Whether {@code arn} has the form {@code arn:hsmkms:iam::<12 digits>:root}, {@code :user/<name>} or
     * {@code :role/<name>}, the name 1-512 of {@code A-Z a-z 0-9 + = , . @ _ / -}. Checked by hand, not by a
     * regex: every call builds a Principal, and the match was about 2 % of the server's Java samples
     * (docs/benchmarks.md). PrincipalArnTest holds it to the regex it replaced.
     */
    public static boolean isValidArn(String arn) {
        if (arn == null || !arn.startsWith(ARN_PREFIX) || arn.length() < ARN_PREFIX.length() + 13) {
            return false;
        }
        int account = ARN_PREFIX.length();
        for (int i = account; i < account + 12; i++) {
            if (arn.charAt(i) < '0' || arn.charAt(i) > '9') {
                return false;
            }
        }
        int resource = account + 12;
        if (arn.charAt(resource) != ':') {
            return false;
        }
        if (arn.length() == resource + 5 && arn.startsWith("root", resource + 1)) {
            return true;
        }
        if (!arn.startsWith("user/", resource + 1) && !arn.startsWith("role/", resource + 1)) {
            return false;
        }
        int name = resource + 6;
        int length = arn.length() - name;
        if (length < 1 || length > MAX_NAME_LENGTH) {
            return false;
        }
        for (int i = name; i < arn.length(); i++) {
            char c = arn.charAt(i);
            boolean allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || "+=,.@_/-".indexOf(c) >= 0;
            if (!allowed) {
                return false;
            }
        }
        return true;
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
