-- Rotation: settings per key, and how each backing version came to be.
ALTER TABLE cmk ADD COLUMN rotation_enabled BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE cmk ADD COLUMN rotation_period_days INTEGER;
ALTER TABLE cmk ADD COLUMN next_rotation_date TIMESTAMP WITH TIME ZONE;
ALTER TABLE cmk ADD COLUMN on_demand_rotations INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE cmk_version ADD COLUMN rotation_type VARCHAR(16);
CREATE INDEX cmk_by_next_rotation ON cmk (next_rotation_date);
