-- Aliases: friendly names for keys, unique per account, repointable (manual rotation).
CREATE TABLE cmk_alias (
    account_id  VARCHAR(12)  NOT NULL,
    name        VARCHAR(256) NOT NULL,
    cmk_id      VARCHAR(36)  NOT NULL REFERENCES cmk (id),
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE INDEX cmk_alias_by_key ON cmk_alias (cmk_id);
