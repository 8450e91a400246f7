-- Imported key material (origin EXTERNAL): key check value of the material (so a re-import can be
-- checked against it without exporting anything), its expiry, and the import generation (each
-- import gets a fresh HSM label; labels are never reused).
ALTER TABLE cmk ADD COLUMN import_kcv VARCHAR(64);
ALTER TABLE cmk ADD COLUMN import_valid_to TIMESTAMP WITH TIME ZONE;
ALTER TABLE cmk ADD COLUMN import_generation INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE cmk ADD COLUMN import_material_present BOOLEAN DEFAULT FALSE NOT NULL;
