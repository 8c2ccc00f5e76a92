-- +goose Up
-- A run's claim in one round trip (see 00012 and 00013 for the others).

-- aias_predecessor_unfinished(workflow, key, seq)
--   Whether a run of the same workflow and concurrency key that arrived
--   earlier (lower seq) is still unfinished: the run with seq must wait for
--   it. Inlined where it is used; row-level security applies as the caller.
-- +goose StatementBegin
CREATE FUNCTION aias_predecessor_unfinished(p_workflow_id uuid, p_key text, p_seq bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM runs p
     WHERE p.workflow_id = p_workflow_id AND p.concurrency_key = p_key
       AND p.seq < p_seq AND p.status IN ('held', 'queued', 'delayed', 'running'))
$$;
-- +goose StatementEnd

-- aias_claim_run(tenant, run)
--   Starts a new attempt of a queued, delayed or running (re-delivered) run
--   whose turn it is, and returns the run with resumed = true when an
--   earlier attempt had started it (its step records must be read). No row:
--   the run is finished, not the tenant's, or waiting for an earlier run of
--   its concurrency key (the caller asks which). Called by
--   run.Executor.start (internal/run/execute.go).
-- +goose StatementBegin
CREATE FUNCTION aias_claim_run(p_tenant uuid, p_run uuid)
RETURNS TABLE (id uuid, tenant_id uuid, workflow_id uuid, workflow_version int, endpoint_id uuid,
               trigger_kind text, delivery_id text, status text, attempt int, max_attempts int,
               request_id text, body bytea, content_type text, headers jsonb, query jsonb, error text,
               received_at timestamptz, created_at timestamptz, started_at timestamptz,
               finished_at timestamptz, updated_at timestamptz, next_attempt_at timestamptz,
               replay_of uuid, concurrency_key text, resumed boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM aias_scope(p_tenant);
  RETURN QUERY
  UPDATE runs r SET status = 'running', attempt = r.attempt + 1, started_at = coalesce(r.started_at, now()),
                    updated_at = now(), next_attempt_at = NULL
   WHERE r.id = p_run AND r.status IN ('queued', 'delayed', 'running')
     AND (r.concurrency_key IS NULL OR NOT aias_predecessor_unfinished(r.workflow_id, r.concurrency_key, r.seq))
  RETURNING r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.endpoint_id, r.trigger_kind, r.delivery_id,
            r.status, r.attempt, r.max_attempts, r.request_id, r.body, r.content_type, r.headers, r.query, r.error,
            r.received_at, r.created_at, r.started_at, r.finished_at, r.updated_at, r.next_attempt_at,
            r.replay_of, r.concurrency_key,
            r.started_at < now(); -- started by an earlier transaction: an earlier attempt
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS aias_claim_run(uuid, uuid);
DROP FUNCTION IF EXISTS aias_predecessor_unfinished(uuid, text, bigint);
