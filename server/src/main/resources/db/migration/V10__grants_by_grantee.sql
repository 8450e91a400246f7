-- Authorization reads only the caller's grants on a key (GrantRepository.forGrantee): with this index a key
-- carrying 10,000 grants costs a grant-allowed caller one index range, not a scan of all of them.
CREATE INDEX cmk_grant_by_grantee ON cmk_grant (cmk_id, grantee, grant_id);
