package io.hsmkms.hsm;

/**
 * Lets one process at a time add or remove token objects, across every process that shares the token
 * (the nodes of a cluster). SoftHSM's file store needs it: a process that creates an object right after
 * another process did, without having looked at the token in between, loses track of the other's object
 * (docs/architecture.md). The adapter makes SoftHSM look just before each create, under this lock, so no
 * other node's create can fall between the look and the create. A token without that flaw loses nothing
 * but a short wait.
 */
@FunctionalInterface
public interface TokenWriteLock {
    /** For a token no other process writes, such as one node's own SoftHSM directory. */
    TokenWriteLock NONE = () -> () -> {};

    /**
     * Blocks until this process may write the token; closing the result lets the next one in. Throws an
     * unchecked exception if the lock cannot be had (its store is down or it waited too long).
     */
    Held acquire();

    /** The lock, held until closed. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }
}
