package io.hsmkms.server.core;

import io.hsmkms.hsm.Hsm;
import io.hsmkms.hsm.HsmException;
import io.hsmkms.hsm.HsmKeyRef;
import io.hsmkms.server.store.KeyRepository;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares the token with the metadata store. Writes are ordered so that a crash leaves at most an
 * HSM object no metadata names (an orphan); this finds them. An orphan is only reported the first
 * time it is seen and destroyed when a later run still finds it, because a create or rotation in
 * flight on this or another node looks exactly like an orphan for a moment. Labels this service did
 * not make are never touched. Metadata naming a missing object (the dangerous direction, which the
 * write order rules out) is reported loudly.
 */
public final class OrphanReconciler {
    private static final Logger LOG = LoggerFactory.getLogger(OrphanReconciler.class);
    private static final Pattern LABEL = Pattern.compile("hsmkms/[0-9a-f-]{36}/[0-9]{1,9}(/import-[0-9]{1,9}-[0-9a-f]{8}|/[0-9a-f]{16})?");
    private static final int PAGE = 1000;

    /** What one run found and did. */
    public record Report(List<String> newOrphans, List<String> destroyed, List<String> missingMaterial) {}

    private final Hsm hsm;
    private final KeyRepository repository;
    private final KeyAvailability availability;
    private Set<String> seenBefore = Set.of();

    public OrphanReconciler(Hsm hsm, KeyRepository repository, KeyAvailability availability) {
        this.hsm = hsm;
        this.repository = repository;
        this.availability = availability;
    }

    public synchronized Report run() {
        // Metadata first, token second: an object created in between is at worst a one-run orphan
        // candidate, never a false "missing material".
        // Only labels and states are read, page by page: a key's policy can be 32 KB.
        Set<String> named = new HashSet<>();
        Set<String> mustExist = new HashSet<>();
        for (KeyRepository.LabelPage page = repository.versionLabels(null, PAGE); page.lastKey() != null;
                page = repository.versionLabels(page.lastKey(), PAGE)) {
            for (KeyRepository.VersionLabel version : page.labels()) {
                if (version.state() == KeyState.PENDING_IMPORT) {
                    // Its imported material was deleted or expired: the metadata goes first, so an object still
                    // under the old label is one a crash (or a failed destroy) left behind. The next import makes a
                    // new label, so nothing will use this one again: it is an orphan like any other.
                    continue;
                }
                named.add(version.hsmLabel());
                // Keys on their way out lose their material on purpose, a version at a time, and may still be
                // cancelled: their objects are neither required nor orphans.
                if (version.state() != KeyState.PENDING_DELETION && version.state() != KeyState.DELETING) {
                    mustExist.add(version.hsmLabel());
                }
            }
        }
        Set<String> inToken = new HashSet<>(hsm.listKeyLabels());
        List<String> missing = mustExist.stream().filter(label -> !inToken.contains(label)).sorted().toList();
        availability.reconciled(missing);
        Set<String> orphans = new HashSet<>();
        long serviceObjects = 0;
        for (String label : inToken) {
            if (LABEL.matcher(label).matches()) {
                serviceObjects++;
                if (!named.contains(label)) {
                    orphans.add(label);
                }
            }
        }
        List<String> destroyed = new ArrayList<>();
        List<String> fresh = new ArrayList<>();
        for (String label : orphans.stream().sorted().toList()) {
            if (!seenBefore.contains(label)) {
                fresh.add(label);
                continue;
            }
            try {
                hsm.destroyKey(new HsmKeyRef(label));
                destroyed.add(label);
            } catch (HsmException e) {
                if (e.reason() != HsmException.Reason.NOT_FOUND) {
                    LOG.warn("could not destroy orphan HSM object {}: {}", label, e.reason());
                }
            }
        }
        seenBefore = Set.copyOf(fresh);
        if (!fresh.isEmpty()) {
            LOG.warn("HSM objects with no metadata (destroyed on the next run if still orphaned): {}", fresh);
        }
        if (!destroyed.isEmpty()) {
            LOG.warn("destroyed orphan HSM objects: {}", destroyed);
        }
        if (!missing.isEmpty()) {
            LOG.error("metadata names HSM objects that the token does not have (their keys are Unavailable): {}", missing);
        }
        LOG.info("reconciliation done: {} token object(s) of this service, {} new orphan(s), {} destroyed, {} missing",
                serviceObjects, fresh.size(), destroyed.size(),
                missing.size());
        return new Report(List.copyOf(fresh), List.copyOf(destroyed), List.copyOf(missing));
    }
}
