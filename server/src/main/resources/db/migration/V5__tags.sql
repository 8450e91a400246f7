-- Key tags: at most 50 per key (enforced by the service), keys 1..128 and values 0..256 characters.
CREATE TABLE cmk_tag (
    cmk_id    VARCHAR(36)  NOT NULL REFERENCES cmk (id),
    tag_key   VARCHAR(128) NOT NULL,
    tag_value VARCHAR(256) NOT NULL,
    PRIMARY KEY (cmk_id, tag_key)
);
