package io.hsmkms.server.core;

import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key ids and ARNs in one region: {@code arn:hsmkms:kms:<region>:<account>:key/<uuid>}. A request
 * names a key by id (meaning a key of the caller's account) or by ARN (any account, for
 * cross-account use that the key policy allows); responses name it by ARN, as AWS KMS does.
 */
public final class KeyNames {
    private static final Pattern ARN = Pattern.compile("arn:hsmkms:kms:([a-z0-9-]+):([0-9]{12}):key/(.+)");
    private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,32}");
    private static final int MAX_KEY_ID_LENGTH = 2048;

    /** A key named by a request: the account it belongs to and its id. */
    public record KeyRef(String accountId, UUID id) {}

    /** An alias named by a request: its account and its full name ({@code alias/...}). */
    public record AliasRef(String accountId, String name) {}

    private static final Pattern ALIAS_NAME = Pattern.compile("alias/[a-zA-Z0-9/_-]{1,250}");
    private static final Pattern ALIAS_ARN = Pattern.compile("arn:hsmkms:kms:([a-z0-9-]+):([0-9]{12}):(alias/.+)");

    private final String region;

    public KeyNames(String region) {
        if (region == null || !REGION.matcher(region).matches()) {
            throw new IllegalArgumentException("region must be 1..32 of [a-z0-9-]");
        }
        this.region = region;
    }

    public String arn(String accountId, UUID keyId) {
        return "arn:hsmkms:kms:" + region + ":" + accountId + ":key/" + keyId;
    }

    public String arn(ManagedKey key) {
        return arn(key.accountId(), key.id());
    }

    public String aliasArn(String accountId, String aliasName) {
        return "arn:hsmkms:kms:" + region + ":" + accountId + ":" + aliasName;
    }

    /** Whether the text names an alias (by name or ARN) rather than a key. */
    public static boolean isAlias(String text) {
        return text.startsWith("alias/") || ALIAS_ARN.matcher(text).matches();
    }

    /** Parses an alias name or alias ARN; malformed names are a ValidationException. */
    public AliasRef resolveAlias(String aliasNameOrArn, String callerAccount) {
        String account = callerAccount;
        String name = aliasNameOrArn;
        Matcher arn = ALIAS_ARN.matcher(aliasNameOrArn);
        if (arn.matches()) {
            if (!arn.group(1).equals(region)) {
                throw new KmsException(ErrorReason.NOT_FOUND, "Alias '" + aliasNameOrArn + "' does not exist.");
            }
            account = arn.group(2);
            name = arn.group(3);
        }
        requireAliasName(name);
        return new AliasRef(account, name);
    }

    /** Alias names: {@code alias/} and 1..250 of [a-zA-Z0-9/_-]; {@code alias/aws/} is reserved. */
    public static void requireAliasName(String name) {
        if (name.length() > 256 || !ALIAS_NAME.matcher(name).matches()) {
            throw new KmsException(ErrorReason.VALIDATION, "AliasName must be alias/ followed by 1..250 of [a-zA-Z0-9/_-].");
        }
        if (name.startsWith("alias/aws/")) {
            throw new KmsException(ErrorReason.VALIDATION, "Alias names starting with alias/aws/ are reserved.");
        }
    }

    /**
     * The key a request names. Malformed values are a ValidationException; an ARN of another
     * region names no key here, so NotFoundException.
     */
    public KeyRef resolve(String keyIdOrArn, String callerAccount) {
        Objects.requireNonNull(keyIdOrArn);
        if (keyIdOrArn.isEmpty()) {
            throw new KmsException(ErrorReason.VALIDATION, "KeyId is required.");
        }
        if (keyIdOrArn.length() > MAX_KEY_ID_LENGTH) {
            throw new KmsException(ErrorReason.VALIDATION, "KeyId is longer than " + MAX_KEY_ID_LENGTH + " characters.");
        }
        String account = callerAccount;
        String idText = keyIdOrArn;
        // Most requests name a key by id: only an ARN is worth a regular expression (matching them was about 1 % of
        // the server's CPU on the Encrypt path).
        Matcher arn = keyIdOrArn.startsWith("arn:") ? ARN.matcher(keyIdOrArn) : null;
        if (arn != null && arn.matches()) {
            if (!arn.group(1).equals(region)) {
                throw new KmsException(ErrorReason.NOT_FOUND, "Key '" + keyIdOrArn + "' does not exist.");
            }
            account = arn.group(2);
            idText = arn.group(3);
        }
        if (!isUuidText(idText)) {
            throw new KmsException(ErrorReason.VALIDATION, "KeyId must be a key id (UUID) or a key ARN.");
        }
        return new KeyRef(account, UUID.fromString(idText.toLowerCase(Locale.ROOT)));
    }

    /** 8-4-4-4-12 ASCII hex digits of either case, as {@link UUID#toString()} writes them (upper case too). */
    static boolean isUuidText(String text) {
        if (text.length() != 36) {
            return false;
        }
        for (int i = 0; i < 36; i++) {
            char c = text.charAt(i);
            boolean ok = i == 8 || i == 13 || i == 18 || i == 23 ? c == '-'
                    : c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
