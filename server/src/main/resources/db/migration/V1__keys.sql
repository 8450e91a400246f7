-- Customer master keys and their backing versions. Plain SQL that runs on H2 and PostgreSQL.
CREATE TABLE cmk (
    id          VARCHAR(36)   NOT NULL PRIMARY KEY,
    account_id  VARCHAR(12)   NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    description VARCHAR(8192) NOT NULL,
    state       VARCHAR(32)   NOT NULL,
    key_spec    VARCHAR(32)   NOT NULL,
    key_usage   VARCHAR(32)   NOT NULL,
    origin      VARCHAR(32)   NOT NULL,
    revision    BIGINT        NOT NULL
);

CREATE INDEX cmk_by_account ON cmk (account_id, id);

CREATE TABLE cmk_version (
    cmk_id     VARCHAR(36)  NOT NULL REFERENCES cmk (id),
    version    INTEGER      NOT NULL,
    hsm_label  VARCHAR(255) NOT NULL UNIQUE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (cmk_id, version)
);
