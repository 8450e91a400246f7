package io.hsmkms.server.core;

/** HSM: the key material was generated inside the service's HSM (AWS KMS calls this AWS_KMS). */
public enum KeyOrigin {
    HSM
}
