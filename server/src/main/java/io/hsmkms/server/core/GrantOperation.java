package io.hsmkms.server.core;

import java.util.Optional;

/** Operations a grant can allow; each is also the kms: action it stands for. */
public enum GrantOperation {
    DECRYPT("Decrypt", true),
    ENCRYPT("Encrypt", true),
    GENERATE_DATA_KEY("GenerateDataKey", true),
    GENERATE_DATA_KEY_WITHOUT_PLAINTEXT("GenerateDataKeyWithoutPlaintext", true),
    RE_ENCRYPT_FROM("ReEncryptFrom", true),
    RE_ENCRYPT_TO("ReEncryptTo", true),
    DESCRIBE_KEY("DescribeKey", false),
    CREATE_GRANT("CreateGrant", false),
    RETIRE_GRANT("RetireGrant", false);

    private final String apiName;
    private final boolean takesEncryptionContext;

    GrantOperation(String apiName, boolean takesEncryptionContext) {
        this.apiName = apiName;
        this.takesEncryptionContext = takesEncryptionContext;
    }

    public String apiName() {
        return apiName;
    }

    public String action() {
        return "kms:" + apiName;
    }

    boolean takesEncryptionContext() {
        return takesEncryptionContext;
    }

    public static Optional<GrantOperation> forAction(String action) {
        for (GrantOperation op : values()) {
            if (op.action().equalsIgnoreCase(action)) {
                return Optional.of(op);
            }
        }
        return Optional.empty();
    }

    public static Optional<GrantOperation> byApiName(String name) {
        for (GrantOperation op : values()) {
            if (op.apiName.equals(name)) {
                return Optional.of(op);
            }
        }
        return Optional.empty();
    }
}
