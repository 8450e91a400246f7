-- Grants: allow-only delegations on one key. Constraints are stored as canonical JSON objects.
CREATE TABLE cmk_grant (
    grant_id           VARCHAR(64)   NOT NULL PRIMARY KEY,
    cmk_id             VARCHAR(36)   NOT NULL REFERENCES cmk (id),
    name               VARCHAR(256),
    grantee            VARCHAR(600)  NOT NULL,
    retiring_principal VARCHAR(600),
    operations         VARCHAR(1024) NOT NULL,
    context_equals     VARCHAR(16384),
    context_subset     VARCHAR(16384),
    issuing_account    VARCHAR(12)   NOT NULL,
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX cmk_grant_by_key ON cmk_grant (cmk_id, grant_id);
CREATE INDEX cmk_grant_by_retiring ON cmk_grant (retiring_principal, grant_id);
