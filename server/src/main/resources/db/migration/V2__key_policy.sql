-- Every key has exactly one key policy (JSON, at most 32 KB). Keys made before access control get
-- their account's default key policy: the same text as KeyPolicies.defaultPolicy(account).
ALTER TABLE cmk ADD COLUMN policy VARCHAR(32768);
UPDATE cmk SET policy = '{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM policies","Effect":"Allow","Principal":{"AWS":"arn:hsmkms:iam::' || account_id || ':root"},"Action":"kms:*","Resource":"*"}]}' WHERE policy IS NULL;
ALTER TABLE cmk ALTER COLUMN policy SET NOT NULL;
