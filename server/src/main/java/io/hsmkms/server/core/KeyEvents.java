package io.hsmkms.server.core;

import java.util.Map;

/**
 * Lifecycle moments the service brings about by itself, or that an auditor must be able to alarm
 * on: automatic rotation, deletion executed, imported material expired, an attempt to use a key
 * pending deletion. The audit trail records them beside the API calls and streams them to watchers.
 */
public interface KeyEvents {
    String ROTATED = "RotateKey";
    String DELETED = "DeleteKey";
    String MATERIAL_EXPIRED = "DeleteExpiredKeyMaterial";
    String USED_WHILE_PENDING_DELETION = "KeyUsedWhilePendingDeletion";

    KeyEvents NONE = (name, key, details) -> { };

    void publish(String eventName, ManagedKey key, Map<String, String> details);
}
