package io.hsmkms.server.core;

/**
 * HSM: the key material was generated inside the service's HSM (AWS KMS calls this AWS_KMS).
 * EXTERNAL: the customer brings the material and imports it (wrapped) into the HSM.
 */
public enum KeyOrigin {
    HSM,
    EXTERNAL
}
