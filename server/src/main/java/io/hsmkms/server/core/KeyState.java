package io.hsmkms.server.core;

public enum KeyState {
    ENABLED,
    DISABLED
}
