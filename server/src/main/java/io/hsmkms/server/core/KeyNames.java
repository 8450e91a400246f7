package io.hsmkms.server.core;

import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key ids and ARNs of one account in one region: {@code arn:hsmkms:kms:<region>:<account>:key/<uuid>}.
 * Requests may name a key by id or by ARN; responses name it by ARN, as AWS KMS does.
 */
public final class KeyNames {
    private static final Pattern UUID_TEXT =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern ARN = Pattern.compile("arn:hsmkms:kms:([a-z0-9-]+):([0-9]{12}):key/(.+)");
    private static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");
    private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,32}");
    private static final int MAX_KEY_ID_LENGTH = 2048;

    private final String region;
    private final String accountId;

    public KeyNames(String region, String accountId) {
        if (region == null || !REGION.matcher(region).matches()) {
            throw new IllegalArgumentException("region must be 1..32 of [a-z0-9-]");
        }
        if (accountId == null || !ACCOUNT.matcher(accountId).matches()) {
            throw new IllegalArgumentException("account id must be 12 digits");
        }
        this.region = region;
        this.accountId = accountId;
    }

    public String accountId() {
        return accountId;
    }

    public String arn(UUID keyId) {
        return "arn:hsmkms:kms:" + region + ":" + accountId + ":key/" + keyId;
    }

    /**
     * The key id a request names. A malformed value is a ValidationException; a well-formed ARN of
     * another account or region names no key here, so NotFoundException.
     */
    public UUID resolve(String keyIdOrArn) {
        Objects.requireNonNull(keyIdOrArn);
        if (keyIdOrArn.isEmpty()) {
            throw new KmsException(ErrorReason.VALIDATION, "KeyId is required.");
        }
        if (keyIdOrArn.length() > MAX_KEY_ID_LENGTH) {
            throw new KmsException(ErrorReason.VALIDATION, "KeyId is longer than " + MAX_KEY_ID_LENGTH + " characters.");
        }
        String idText = keyIdOrArn;
        Matcher arn = ARN.matcher(keyIdOrArn);
        if (arn.matches()) {
            if (!arn.group(1).equals(region) || !arn.group(2).equals(accountId)) {
                throw new KmsException(ErrorReason.NOT_FOUND, "Key '" + keyIdOrArn + "' does not exist.");
            }
            idText = arn.group(3);
        }
        if (!UUID_TEXT.matcher(idText).matches()) {
            throw new KmsException(ErrorReason.VALIDATION, "KeyId must be a key id (UUID) or a key ARN.");
        }
        return UUID.fromString(idText.toLowerCase(Locale.ROOT));
    }
}
