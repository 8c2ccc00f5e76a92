-- +goose Up
-- Monthly run quota: runs over quota wait as 'held' (up to the plan's buffer)
-- and start when the tenant upgrades or the period rolls over.

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('held', 'queued', 'running', 'succeeded', 'failed', 'dead', 'canceled'));

-- counted_at: when the run was admitted against the quota (at intake, or when
-- a held run is released). A period's usage is the runs counted in it.
ALTER TABLE runs ADD COLUMN counted_at timestamptz;
UPDATE runs SET counted_at = created_at;
CREATE INDEX runs_tenant_counted ON runs (tenant_id, counted_at) WHERE counted_at IS NOT NULL;
CREATE INDEX runs_held ON runs (tenant_id, created_at) WHERE status = 'held';

-- aias_tenants_with_held_runs()
--   For the scheduler, which serves every tenant: the tenants that have held
--   runs, with their plan name. Returns nothing else.
-- +goose StatementBegin
CREATE FUNCTION aias_tenants_with_held_runs()
RETURNS TABLE (tenant_id uuid, plan text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.plan FROM tenants t
   WHERE EXISTS (SELECT 1 FROM runs r WHERE r.tenant_id = t.id AND r.status = 'held')
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION aias_tenants_with_held_runs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_tenants_with_held_runs() TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_tenants_with_held_runs();
DROP INDEX IF EXISTS runs_held;
DROP INDEX IF EXISTS runs_tenant_counted;
ALTER TABLE runs DROP COLUMN IF EXISTS counted_at;
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'canceled'));
