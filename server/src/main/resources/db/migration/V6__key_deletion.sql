-- Scheduled deletion: when a PENDING_DELETION key's material is destroyed.
ALTER TABLE cmk ADD COLUMN deletion_date TIMESTAMP WITH TIME ZONE;
CREATE INDEX cmk_by_deletion_date ON cmk (deletion_date);
