package io.hsmkms.server.core;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/** A friendly name ({@code alias/...}) for a key, unique within an account. */
public record Alias(String accountId, String name, UUID keyId, Instant createdAt, Instant updatedAt) {
    public Alias {
        Objects.requireNonNull(accountId, "accountId");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
    }
}
