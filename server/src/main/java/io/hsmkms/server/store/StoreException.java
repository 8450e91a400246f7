package io.hsmkms.server.store;

/** The metadata store failed. The message names the operation, never values or SQL. */
public final class StoreException extends RuntimeException {
    public StoreException(String operation, Throwable cause) {
        super("metadata store: " + operation + " failed", cause);
    }
}
