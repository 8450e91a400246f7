package io.hsmkms.server.core;

import java.time.Instant;
import java.util.Objects;

/**
 * One backing key of a CMK: a single non-extractable object in the HSM, known by its label.
 * {@code rotation} says how it was made: null for the key's first version.
 */
public record KeyVersion(int number, String hsmLabel, Instant createdAt, RotationType rotation) {

    public enum RotationType { AUTOMATIC, ON_DEMAND }

    public KeyVersion {
        if (number < 1) {
            throw new IllegalArgumentException("key version numbers start at 1");
        }
        Objects.requireNonNull(hsmLabel, "hsmLabel");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    public KeyVersion(int number, String hsmLabel, Instant createdAt) {
        this(number, hsmLabel, createdAt, null);
    }
}
