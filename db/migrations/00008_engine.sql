-- +goose Up
-- Workflow engine: durable delays, per-step retry budgets, ordering by key.

-- delayed: a delay step checkpointed the run; next_attempt_at is when it
-- continues. The time lives here, so a lost queue costs nothing but a sweep.
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('held', 'queued', 'delayed', 'running', 'succeeded', 'failed', 'dead', 'canceled'));

-- seq orders runs by arrival; concurrency_key (the value of the workflow's
-- concurrency_key expression for this run's trigger) makes runs with the
-- same key of one workflow execute one at a time in seq order.
ALTER TABLE runs ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE runs ADD COLUMN concurrency_key text;
CREATE INDEX runs_ordered ON runs (workflow_id, concurrency_key, seq)
    WHERE concurrency_key IS NOT NULL AND status IN ('held', 'queued', 'delayed', 'running');

DROP INDEX runs_unfinished;
CREATE INDEX runs_unfinished ON runs (updated_at, id) WHERE status IN ('queued', 'delayed', 'running');

-- tries counts a step's failed attempts against its own retry budget; an
-- attempt interrupted by shutdown is not counted.
ALTER TABLE run_steps ADD COLUMN tries int NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_sweep_candidates(p_queued_grace interval, p_running_stale interval,
                                                 p_after_updated timestamptz, p_after_id uuid, p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid, status text, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id, r.status, r.updated_at
    FROM runs r
   WHERE r.status IN ('queued', 'delayed', 'running')
     AND ((r.status IN ('queued', 'delayed') AND greatest(r.updated_at, r.next_attempt_at) < now() - p_queued_grace)
       OR (r.status = 'running' AND r.updated_at < now() - p_running_stale))
     AND (r.updated_at, r.id) > (p_after_updated, p_after_id)
   ORDER BY r.updated_at, r.id
   LIMIT p_limit
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_sweep_candidates(p_queued_grace interval, p_running_stale interval,
                                                 p_after_updated timestamptz, p_after_id uuid, p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid, status text, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id, r.status, r.updated_at
    FROM runs r
   WHERE r.status IN ('queued', 'running')
     AND ((r.status = 'queued'  AND greatest(r.updated_at, r.next_attempt_at) < now() - p_queued_grace)
       OR (r.status = 'running' AND r.updated_at < now() - p_running_stale))
     AND (r.updated_at, r.id) > (p_after_updated, p_after_id)
   ORDER BY r.updated_at, r.id
   LIMIT p_limit
$$;
-- +goose StatementEnd
ALTER TABLE run_steps DROP COLUMN IF EXISTS tries;
DROP INDEX IF EXISTS runs_unfinished;
CREATE INDEX runs_unfinished ON runs (updated_at, id) WHERE status IN ('queued', 'running');
DROP INDEX IF EXISTS runs_ordered;
ALTER TABLE runs DROP COLUMN IF EXISTS concurrency_key;
ALTER TABLE runs DROP COLUMN IF EXISTS seq;
UPDATE runs SET status = 'queued' WHERE status = 'delayed';
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('held', 'queued', 'running', 'succeeded', 'failed', 'dead', 'canceled'));
