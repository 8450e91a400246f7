package io.hsmkms.server.core;

/** Why a request failed, named like the AWS KMS exception a client would expect. */
public enum ErrorReason {
    NOT_FOUND("NotFoundException"),
    ALREADY_EXISTS("AlreadyExistsException"),
    DISABLED("DisabledException"),
    INVALID_STATE("KMSInvalidStateException"),
    INVALID_CIPHERTEXT("InvalidCiphertextException"),
    INCORRECT_KEY("IncorrectKeyException"),
    INVALID_KEY_USAGE("InvalidKeyUsageException"),
    VALIDATION("ValidationException"),
    MALFORMED_POLICY("MalformedPolicyDocumentException"),
    TAG("TagException"),
    UNAUTHENTICATED("UnauthenticatedException"),
    ACCESS_DENIED("AccessDeniedException"),
    LIMIT_EXCEEDED("LimitExceededException"),
    INVALID_GRANT_TOKEN("InvalidGrantTokenException"),
    INVALID_IMPORT_TOKEN("InvalidImportTokenException"),
    INCORRECT_KEY_MATERIAL("IncorrectKeyMaterialException"),
    UNSUPPORTED_OPERATION("UnsupportedOperationException"),
    THROTTLING("ThrottlingException"),
    DEPENDENCY_TIMEOUT("DependencyTimeoutException"),
    /** The HSM does not have the material the metadata names (see {@link KeyAvailability}). */
    KEY_UNAVAILABLE("KeyUnavailableException"),
    /** The HSM failed or cannot be reached; same name as INTERNAL but a retryable status. */
    HSM_UNAVAILABLE("KMSInternalException"),
    /** The call's audit record could not be made durable, so the call is not answered as done. */
    AUDIT_UNAVAILABLE("KMSInternalException"),
    INTERNAL("KMSInternalException");

    private final String exceptionName;

    ErrorReason(String exceptionName) {
        this.exceptionName = exceptionName;
    }

    /** The name clients see as the gRPC ErrorInfo reason. */
    public String exceptionName() {
        return exceptionName;
    }
}
