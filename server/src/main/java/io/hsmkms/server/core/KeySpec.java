package io.hsmkms.server.core;

/** SYMMETRIC_DEFAULT: AES-256 in the HSM, used with AES-GCM. */
public enum KeySpec {
    SYMMETRIC_DEFAULT
}
