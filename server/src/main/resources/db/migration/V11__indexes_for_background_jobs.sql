-- The background jobs look for the few keys due for something among all keys. Without these, two
-- of their queries read every key (100,000 keys on H2: 40 and 135-185 ms each run; docs/benchmarks.md).
-- No index on state: the planners then took it for "state = 'ENABLED'", which most keys are.
CREATE INDEX cmk_by_import_valid_to ON cmk (import_valid_to);
CREATE INDEX cmk_version_by_encryptions ON cmk_version (encryptions);
