-- +goose Up
-- Run control: a replay is a new run linked to the run it repeats.
ALTER TABLE runs ADD COLUMN replay_of uuid REFERENCES runs (id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE runs DROP COLUMN IF EXISTS replay_of;
