-- Encryptions done under each backing version (AES-GCM with random 96-bit IVs must stay far below
-- 2^32 per key); nodes add their counts, so the total spans the cluster.
ALTER TABLE cmk_version ADD COLUMN encryptions BIGINT DEFAULT 0 NOT NULL;
