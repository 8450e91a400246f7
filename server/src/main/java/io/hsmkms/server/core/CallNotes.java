package io.hsmkms.server.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What one call touched, for its audit record: the keys it loaded (with the backing version used
 * and the encryption context), the alias it named, the grant that allowed it. The gRPC layer binds
 * one to the handler's thread for the length of a call (handlers run start to finish on one
 * thread), so the operations note facts where they learn them without every signature carrying
 * an audit parameter. Outside a call (background jobs) notes go nowhere.
 */
public final class CallNotes {
    private static final ThreadLocal<CallNotes> CURRENT = new ThreadLocal<>();

    /** One key the call used; version and context stay null until known. */
    public record KeyUse(UUID keyId, String keyArn, Integer version, Map<String, String> encryptionContext) {}

    private final List<KeyUse> keys = new ArrayList<>(2);
    private String alias;
    private String grantId;

    /** Binds {@code notes} to this thread until {@link #unbind()}. */
    public static void bind(CallNotes notes) {
        CURRENT.set(notes);
    }

    public static void unbind() {
        CURRENT.remove();
    }

    public synchronized List<KeyUse> keys() {
        return List.copyOf(keys);
    }

    public synchronized String alias() {
        return alias;
    }

    public synchronized String grantId() {
        return grantId;
    }

    static void key(ManagedKey key, String arn) {
        CallNotes notes = CURRENT.get();
        if (notes != null) {
            notes.update(key.id(), arn, null, null);
        }
    }

    static void version(ManagedKey key, int version) {
        CallNotes notes = CURRENT.get();
        if (notes != null) {
            notes.update(key.id(), null, version, null);
        }
    }

    static void encryptionContext(ManagedKey key, Map<String, String> context) {
        CallNotes notes = CURRENT.get();
        if (notes != null && context != null) {
            notes.update(key.id(), null, null, Map.copyOf(context));
        }
    }

    static void alias(String aliasName) {
        CallNotes notes = CURRENT.get();
        if (notes != null) {
            synchronized (notes) {
                notes.alias = aliasName;
            }
        }
    }

    static void grant(String id) {
        CallNotes notes = CURRENT.get();
        if (notes != null) {
            synchronized (notes) {
                notes.grantId = id;
            }
        }
    }

    private synchronized void update(UUID keyId, String arn, Integer version, Map<String, String> context) {
        for (int i = 0; i < keys.size(); i++) {
            KeyUse use = keys.get(i);
            if (use.keyId().equals(keyId)) {
                keys.set(i, new KeyUse(keyId, arn != null ? arn : use.keyArn(), version != null ? version : use.version(),
                        context != null ? context : use.encryptionContext()));
                return;
            }
        }
        keys.add(new KeyUse(keyId, arn, version, context));
    }
}
