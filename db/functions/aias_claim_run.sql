-- aias_claim_run(tenant, run, task, stale)
--   Starts a new attempt of a queued, delayed or running (re-delivered) run
--   whose turn it is, for the queue task p_task, and returns the run with
--   resumed = true when an earlier attempt had started it or it holds step
--   records (a re-drive resets started_at): its step records must be read. A run whose concurrency key is still pending is claimed
--   whatever runs before it, so that its worker can compute the key (and
--   hand the claim back with aias_set_run_key when the key's turn has not
--   come). A run another task claimed last (claimed_by) is taken only when
--   that task cannot be using it: queued or delayed and due, or running
--   with no heartbeat for p_stale (NULL: running is enough) — so the task
--   of a dead worker, handed out again by the queue after the scheduler
--   reclaimed its run for a new task, finds the run taken. The same holds
--   for the task that claimed it: a running run is not taken by a second
--   delivery of its own task (a queue that handed the task out twice)
--   while its heartbeat is fresh; a delivery cut short by a shutdown clears
--   claimed_by when it gives its attempt back, so its retry claims at
--   once. No row: the run
--   is finished, not the tenant's, held by another task, or waiting for an
--   earlier run of its key (the caller asks which). Called by run.Claim
--   (internal/run/state.go).
CREATE OR REPLACE FUNCTION aias_claim_run(p_tenant uuid, p_run uuid, p_task text, p_stale interval)
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
                    updated_at = now(), next_attempt_at = NULL, claimed_by = p_task
   WHERE r.id = p_run AND r.tenant_id = p_tenant AND r.status IN ('queued', 'delayed', 'running')
     AND (r.key_pending OR r.concurrency_key IS NULL
          OR NOT aias_predecessor_unfinished(r.workflow_id, r.concurrency_key, r.seq))
     AND (r.claimed_by IS NULL OR p_task IS NULL
          OR (r.status IN ('queued', 'delayed')
              AND (r.claimed_by = p_task OR r.next_attempt_at IS NULL OR r.next_attempt_at <= now()))
          OR (r.status = 'running' AND (p_stale IS NULL OR r.updated_at < now() - p_stale)))
  RETURNING r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.endpoint_id, r.trigger_kind, r.delivery_id,
            r.status, r.attempt, r.max_attempts, r.request_id, r.body, r.content_type, r.headers, r.query, r.error,
            r.received_at, r.created_at, r.started_at, r.finished_at, r.updated_at, r.next_attempt_at,
            r.replay_of, r.concurrency_key,
            -- resumed: started by an earlier transaction (an earlier attempt), or
            -- holding step records (a re-driven run, whose started_at was reset)
            r.started_at < now() OR EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = r.id AND s.tenant_id = r.tenant_id);
END
$$;
