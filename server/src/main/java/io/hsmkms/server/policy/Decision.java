package io.hsmkms.server.policy;

/** What one policy says about one request. An explicit DENY beats any ALLOW; NONE is an implicit deny. */
public enum Decision {
    DENY,
    ALLOW,
    NONE;

    /** Combines two policies' answers: DENY wins, then ALLOW, else NONE. */
    public Decision and(Decision other) {
        if (this == DENY || other == DENY) {
            return DENY;
        }
        return this == ALLOW || other == ALLOW ? ALLOW : NONE;
    }
}
