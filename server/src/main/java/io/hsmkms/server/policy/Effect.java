package io.hsmkms.server.policy;

public enum Effect {
    ALLOW,
    DENY
}
