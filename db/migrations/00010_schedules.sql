-- +goose Up
-- Cron-triggered workflows and the scheduler's leader lease.
--
-- A tick is recorded twice over: the leader advances the workflow's
-- schedule_next_at past it, and the run it starts has an id derived from
-- (workflow id, tick time), so a second leader or a retry inserts nothing.

-- workflows.schedule mirrors the current version's schedule block (NULL: no
-- schedule); schedule_next_at is the next tick not yet handled (NULL: none).
-- Written when a version is saved (internal/workflow/repo.go) and advanced by
-- the leading scheduler in the transaction that inserts the tick's runs.
ALTER TABLE workflows ADD COLUMN schedule jsonb, ADD COLUMN schedule_next_at timestamptz;
-- the leader's scan: only live workflows with a pending tick are indexed
CREATE INDEX workflows_schedule_due ON workflows (schedule_next_at)
    WHERE schedule_next_at IS NOT NULL AND deleted_at IS NULL;

-- Definitions saved before this migration: their schedules start now.
UPDATE workflows w SET schedule = v.definition->'schedule', schedule_next_at = now()
  FROM workflow_versions v
 WHERE v.workflow_id = w.id AND v.version = w.current_version
   AND jsonb_typeof(v.definition->'schedule') = 'object';

-- scheduler_leases: one row per lease ('cron'); its holder is the one
-- scheduler replica that may tick. Not tenant data (no tenant_id), so no
-- row-level security. Times are Postgres's clock, never a replica's.
CREATE TABLE scheduler_leases (
    name         text PRIMARY KEY,
    holder       text NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON scheduler_leases TO aias_app;

-- aias_due_schedules(now, max_rows)
--   For the leading scheduler, which serves every tenant: live workflows
--   whose next tick is at or before now, earliest first. Returns only ids,
--   tenant ids and the tick; the leader reads the rest in the tenant's
--   transaction.
-- +goose StatementBegin
CREATE FUNCTION aias_due_schedules(p_now timestamptz, p_limit int)
RETURNS TABLE (workflow_id uuid, tenant_id uuid, next_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT w.id, w.tenant_id, w.schedule_next_at
    FROM workflows w
   WHERE w.schedule_next_at <= p_now AND w.deleted_at IS NULL
   ORDER BY w.schedule_next_at, w.id
   LIMIT p_limit
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION aias_due_schedules(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_due_schedules(timestamptz, int) TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_due_schedules(timestamptz, int);
DROP TABLE IF EXISTS scheduler_leases;
DROP INDEX IF EXISTS workflows_schedule_due;
ALTER TABLE workflows DROP COLUMN IF EXISTS schedule_next_at, DROP COLUMN IF EXISTS schedule;
