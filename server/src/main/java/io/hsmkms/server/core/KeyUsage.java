package io.hsmkms.server.core;

public enum KeyUsage {
    ENCRYPT_DECRYPT
}
