package io.hsmkms.server.store;

/** Another writer changed the key since it was read; the caller re-reads and retries or gives up. */
public final class ConcurrentUpdateException extends RuntimeException {
    public ConcurrentUpdateException(String message) {
        super(message);
    }
}
