package io.hsmkms.server.core;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.server.store.ConcurrentUpdateException;
import io.hsmkms.server.store.KeyRepository;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The control plane: creating keys and changing their metadata. */
public final class KeyOperations {
    private static final Logger LOG = LoggerFactory.getLogger(KeyOperations.class);
    public static final int MAX_DESCRIPTION_LENGTH = 8192;
    public static final int DEFAULT_LIST_LIMIT = 100;
    public static final int MAX_LIST_LIMIT = 1000;
    private static final int UPDATE_ATTEMPTS = 3;

    private final Hsm hsm;
    private final KeyRepository repository;
    private final KeyNames names;
    private final Clock clock;

    public KeyOperations(Hsm hsm, KeyRepository repository, KeyNames names, Clock clock) {
        this.hsm = hsm;
        this.repository = repository;
        this.names = names;
        this.clock = clock;
    }

    /** The HSM label of a backing key version; never reused because key ids are never reused. */
    static String hsmLabel(UUID keyId, int version) {
        return "hsmkms/" + keyId + "/" + version;
    }

    public ManagedKey create(String description, KeySpec spec, KeyUsage usage) {
        if (description.length() > MAX_DESCRIPTION_LENGTH) {
            throw new KmsException(ErrorReason.VALIDATION,
                    "Description is longer than " + MAX_DESCRIPTION_LENGTH + " characters.");
        }
        UUID id = UUID.randomUUID();
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        String label = hsmLabel(id, 1);
        // Material first, metadata second: a crash in between leaves an orphan HSM object, never
        // metadata that points at missing material.
        HsmKeyRef ref = HsmCalls.call(() -> hsm.generateAesKey(label));
        ManagedKey key = new ManagedKey(id, names.accountId(), now, description, KeyState.ENABLED, spec, usage,
                KeyOrigin.HSM, List.of(new KeyVersion(1, ref.label(), now)), 0);
        try {
            return repository.insert(key);
        } catch (RuntimeException e) {
            discardOrphan(ref);
            throw e;
        }
    }

    public ManagedKey describe(String keyIdOrArn) {
        return load(names.resolve(keyIdOrArn));
    }

    public KeyRepository.Page list(int limit, String marker) {
        int effectiveLimit = limit == 0 ? DEFAULT_LIST_LIMIT : limit;
        if (effectiveLimit < 1 || effectiveLimit > MAX_LIST_LIMIT) {
            throw new KmsException(ErrorReason.VALIDATION, "Limit must be between 1 and " + MAX_LIST_LIMIT + ".");
        }
        UUID after = null;
        if (!marker.isEmpty()) {
            try {
                after = UUID.fromString(marker);
            } catch (IllegalArgumentException e) {
                throw new KmsException(ErrorReason.VALIDATION, "Marker is not one this service returned.");
            }
        }
        return repository.list(names.accountId(), effectiveLimit, after);
    }

    public ManagedKey enable(String keyIdOrArn) {
        return changeState(names.resolve(keyIdOrArn), KeyState.ENABLED);
    }

    public ManagedKey disable(String keyIdOrArn) {
        return changeState(names.resolve(keyIdOrArn), KeyState.DISABLED);
    }

    /** Loads a key of this account or fails with NotFoundException. */
    ManagedKey load(UUID id) {
        return repository.find(id)
                .filter(k -> k.accountId().equals(names.accountId()))
                .orElseThrow(() -> new KmsException(ErrorReason.NOT_FOUND, "Key '" + names.arn(id) + "' does not exist."));
    }

    private ManagedKey changeState(UUID id, KeyState target) {
        for (int attempt = 1; ; attempt++) {
            ManagedKey key = load(id);
            if (key.state() == target) {
                return key;
            }
            try {
                return repository.update(key.withState(target));
            } catch (ConcurrentUpdateException e) {
                if (attempt == UPDATE_ATTEMPTS) {
                    throw new KmsException(ErrorReason.THROTTLING, "The key is being changed concurrently; retry.");
                }
            } catch (NoSuchElementException e) {
                throw new KmsException(ErrorReason.NOT_FOUND, "Key '" + names.arn(id) + "' does not exist.");
            }
        }
    }

    private void discardOrphan(HsmKeyRef ref) {
        try {
            hsm.destroyKey(ref);
        } catch (HsmException e) {
            LOG.warn("could not remove HSM key {} after a failed create; it is an orphan: {}", ref.label(), e.reason());
        }
    }
}
