package io.hsmkms.server.audit;

import io.hsmkms.server.core.KeyEvents;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.core.ManagedKey;
import java.time.Clock;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Key lifecycle events as service-event records in the audit trail. */
public final class TrailKeyEvents implements KeyEvents {
    private static final Logger LOG = LoggerFactory.getLogger(TrailKeyEvents.class);

    private final AuditTrail trail;
    private final KeyNames names;
    private final Clock clock;

    public TrailKeyEvents(AuditTrail trail, KeyNames names, Clock clock) {
        this.trail = trail;
        this.names = names;
        this.clock = clock;
    }

    @Override
    public void publish(String eventName, ManagedKey key, Map<String, String> details) {
        try {
            trail.append(AuditRecord.serviceEvent(clock.instant(), eventName, key.id().toString(), names.arn(key),
                    key.accountId(), details));
        } catch (AuditTrail.AuditUnavailableException e) {
            // The job's own work is done and logged; losing its event must not undo or repeat it.
            LOG.error("audit event {} for key {} not recorded: {}", eventName, key.id(), e.getMessage());
        }
    }
}
