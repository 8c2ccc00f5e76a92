-- +goose Up
-- The concurrency key is computed by the worker, not at intake: it is a
-- tenant's expression, and the ingress serves every tenant. A run of a
-- workflow with a concurrency_key is created with key_pending; the worker
-- that first claims it computes the key (aias_set_run_key). Until then the
-- run may turn out to have any key, so every later run of the workflow with
-- a key waits for it as it would for a run of its own key: earlier runs go
-- first, whatever their keys turn out to be.
ALTER TABLE runs ADD COLUMN key_pending boolean NOT NULL DEFAULT false;
CREATE INDEX runs_key_pending ON runs (workflow_id, seq)
    WHERE key_pending AND status IN ('held', 'queued', 'delayed', 'running');

-- aias_predecessor_unfinished(workflow, key, seq)
--   Whether a run of the same workflow that arrived earlier (lower seq) is
--   unfinished and has the same concurrency key, or a key not yet computed:
--   the run with seq must wait for it. Inlined where it is used; row-level
--   security applies as the caller.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_predecessor_unfinished(p_workflow_id uuid, p_key text, p_seq bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM runs p
     WHERE p.workflow_id = p_workflow_id AND p.concurrency_key = p_key
       AND p.seq < p_seq AND p.status IN ('held', 'queued', 'delayed', 'running'))
  OR EXISTS (
    SELECT 1 FROM runs p
     WHERE p.workflow_id = p_workflow_id AND p.key_pending
       AND p.seq < p_seq AND p.status IN ('held', 'queued', 'delayed', 'running'))
$$;
-- +goose StatementEnd

-- aias_claim_run(tenant, run)
--   As in 00014; a run whose key is pending is claimed whatever runs before
--   it, so that its worker can compute the key (and hand the claim back with
--   aias_set_run_key when the key's turn has not come).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_claim_run(p_tenant uuid, p_run uuid)
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
     AND (r.key_pending OR r.concurrency_key IS NULL
          OR NOT aias_predecessor_unfinished(r.workflow_id, r.concurrency_key, r.seq))
  RETURNING r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.endpoint_id, r.trigger_kind, r.delivery_id,
            r.status, r.attempt, r.max_attempts, r.request_id, r.body, r.content_type, r.headers, r.query, r.error,
            r.received_at, r.created_at, r.started_at, r.finished_at, r.updated_at, r.next_attempt_at,
            r.replay_of, r.concurrency_key,
            r.started_at < now(); -- started by an earlier transaction: an earlier attempt
END
$$;
-- +goose StatementEnd

-- aias_set_run_key(tenant, run, attempt, key)
--   Records the key the worker computed for a run it claimed (attempt) while
--   the key was pending; a NULL key means the run has none. Answers:
--     'set'  the key is recorded and it is the run's turn: go on;
--     'wait' the key is recorded, but an earlier run of the key (or one whose
--            key is pending) is unfinished: the claim is handed back (queued,
--            its attempt given back, started_at cleared: no step has run)
--            and the task waits;
--     'none' the key was not pending (computed before, possibly as no key);
--     'gone' the run is no longer this attempt's (canceled, taken over).
--   Called by run.Executor.resolveKey (internal/run/order.go).
-- +goose StatementBegin
CREATE FUNCTION aias_set_run_key(p_tenant uuid, p_run uuid, p_attempt int, p_key text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_workflow uuid;
  v_seq bigint;
  v_pending boolean;
BEGIN
  PERFORM aias_scope(p_tenant);
  SELECT r.workflow_id, r.seq, r.key_pending INTO v_workflow, v_seq, v_pending
    FROM runs r WHERE r.id = p_run AND r.attempt = p_attempt AND r.status = 'running'
     FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'gone';
  END IF;
  IF NOT v_pending THEN
    RETURN 'none';
  END IF;
  UPDATE runs SET concurrency_key = p_key, key_pending = false, updated_at = now() WHERE id = p_run;
  IF p_key IS NULL OR NOT aias_predecessor_unfinished(v_workflow, p_key, v_seq) THEN
    RETURN 'set';
  END IF;
  UPDATE runs SET status = 'queued', attempt = attempt - 1, started_at = NULL, updated_at = now() WHERE id = p_run;
  RETURN 'wait';
END
$$;
-- +goose StatementEnd

-- aias_insert_run(...)
--   As in 00020, with p_key_pending: the run's concurrency key is to be
--   computed by the worker (p_concurrency_key is then NULL). The default
--   keeps callers that compute the key themselves working.
DROP FUNCTION aias_insert_run(uuid, uuid, uuid, int, uuid, text, text, int, text, bytea, text, jsonb, jsonb,
                              timestamptz, boolean, text, bytea, interval);
-- +goose StatementBegin
CREATE FUNCTION aias_insert_run(p_id uuid, p_tenant uuid, p_workflow_id uuid, p_workflow_version int,
                                p_endpoint_id uuid, p_trigger_kind text, p_delivery_id text, p_max_attempts int,
                                p_request_id text, p_body bytea, p_content_type text, p_headers jsonb, p_query jsonb,
                                p_received_at timestamptz, p_held boolean, p_concurrency_key text,
                                p_body_sha256 bytea DEFAULT NULL, p_replay_window interval DEFAULT NULL,
                                p_key_pending boolean DEFAULT false)
RETURNS TABLE (id uuid, duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  windowed boolean := p_replay_window IS NOT NULL AND p_body_sha256 IS NOT NULL AND p_endpoint_id IS NOT NULL;
  new_id uuid;
BEGIN
  PERFORM aias_scope(p_tenant);
  IF windowed THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('aias.replay:' || p_endpoint_id::text || encode(p_body_sha256, 'hex'), 0));
    SELECT r.id INTO new_id FROM runs r
     WHERE r.endpoint_id = p_endpoint_id AND r.body_sha256 = p_body_sha256 AND r.tenant_id = p_tenant
       AND r.created_at > now() - p_replay_window
     ORDER BY r.created_at LIMIT 1;
    IF new_id IS NOT NULL THEN
      RETURN QUERY SELECT new_id, true;
      RETURN;
    END IF;
  END IF;
  INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind, delivery_id,
                    status, max_attempts, request_id, body, content_type, headers, query, received_at,
                    counted_at, concurrency_key, body_sha256, key_pending)
  VALUES (p_id, p_tenant, p_workflow_id, p_workflow_version, p_endpoint_id, p_trigger_kind, p_delivery_id,
          CASE WHEN p_held THEN 'held' ELSE 'queued' END, p_max_attempts, p_request_id, p_body, p_content_type,
          p_headers, p_query, p_received_at, CASE WHEN p_held THEN NULL ELSE now() END, p_concurrency_key,
          CASE WHEN windowed THEN p_body_sha256 END, p_key_pending)
  ON CONFLICT DO NOTHING
  RETURNING runs.id INTO new_id;
  IF new_id IS NOT NULL THEN
    RETURN QUERY SELECT new_id, false;
  ELSIF p_delivery_id IS NULL THEN
    RETURN QUERY SELECT r.id, true FROM runs r WHERE r.id = p_id;
  ELSE
    RETURN QUERY SELECT r.id, true FROM runs r WHERE r.endpoint_id = p_endpoint_id AND r.delivery_id = p_delivery_id;
  END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS aias_insert_run(uuid, uuid, uuid, int, uuid, text, text, int, text, bytea, text, jsonb, jsonb,
                                        timestamptz, boolean, text, bytea, interval, boolean);
-- +goose StatementBegin
CREATE FUNCTION aias_insert_run(p_id uuid, p_tenant uuid, p_workflow_id uuid, p_workflow_version int,
                                p_endpoint_id uuid, p_trigger_kind text, p_delivery_id text, p_max_attempts int,
                                p_request_id text, p_body bytea, p_content_type text, p_headers jsonb, p_query jsonb,
                                p_received_at timestamptz, p_held boolean, p_concurrency_key text,
                                p_body_sha256 bytea DEFAULT NULL, p_replay_window interval DEFAULT NULL)
RETURNS TABLE (id uuid, duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  windowed boolean := p_replay_window IS NOT NULL AND p_body_sha256 IS NOT NULL AND p_endpoint_id IS NOT NULL;
  new_id uuid;
BEGIN
  PERFORM aias_scope(p_tenant);
  IF windowed THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('aias.replay:' || p_endpoint_id::text || encode(p_body_sha256, 'hex'), 0));
    SELECT r.id INTO new_id FROM runs r
     WHERE r.endpoint_id = p_endpoint_id AND r.body_sha256 = p_body_sha256 AND r.tenant_id = p_tenant
       AND r.created_at > now() - p_replay_window
     ORDER BY r.created_at LIMIT 1;
    IF new_id IS NOT NULL THEN
      RETURN QUERY SELECT new_id, true;
      RETURN;
    END IF;
  END IF;
  INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind, delivery_id,
                    status, max_attempts, request_id, body, content_type, headers, query, received_at,
                    counted_at, concurrency_key, body_sha256)
  VALUES (p_id, p_tenant, p_workflow_id, p_workflow_version, p_endpoint_id, p_trigger_kind, p_delivery_id,
          CASE WHEN p_held THEN 'held' ELSE 'queued' END, p_max_attempts, p_request_id, p_body, p_content_type,
          p_headers, p_query, p_received_at, CASE WHEN p_held THEN NULL ELSE now() END, p_concurrency_key,
          CASE WHEN windowed THEN p_body_sha256 END)
  ON CONFLICT DO NOTHING
  RETURNING runs.id INTO new_id;
  IF new_id IS NOT NULL THEN
    RETURN QUERY SELECT new_id, false;
  ELSIF p_delivery_id IS NULL THEN
    RETURN QUERY SELECT r.id, true FROM runs r WHERE r.id = p_id;
  ELSE
    RETURN QUERY SELECT r.id, true FROM runs r WHERE r.endpoint_id = p_endpoint_id AND r.delivery_id = p_delivery_id;
  END IF;
END
$$;
-- +goose StatementEnd
DROP FUNCTION IF EXISTS aias_set_run_key(uuid, uuid, int, text);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_claim_run(p_tenant uuid, p_run uuid)
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_predecessor_unfinished(p_workflow_id uuid, p_key text, p_seq bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM runs p
     WHERE p.workflow_id = p_workflow_id AND p.concurrency_key = p_key
       AND p.seq < p_seq AND p.status IN ('held', 'queued', 'delayed', 'running'))
$$;
-- +goose StatementEnd
DROP INDEX IF EXISTS runs_key_pending;
ALTER TABLE runs DROP COLUMN IF EXISTS key_pending;
