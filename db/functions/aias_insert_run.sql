-- aias_insert_run(id, tenant, workflow, version, endpoint, trigger_kind, delivery_id,
--                 max_attempts, request_id, body, content_type, headers, query,
--                 received_at, held, concurrency_key, body_sha256, replay_window, key_pending)
--   Creates a queued (or, over quota, held and uncounted) run for the
--   tenant and returns its id with duplicate = false. When the run exists —
--   the same delivery id on the endpoint, or the same run id (a schedule's
--   deterministic tick) — returns that run's id with duplicate = true;
--   concurrent inserts of one delivery serialize on the unique index. With a
--   replay_window (and the body's SHA-256), a run of the same endpoint with
--   the same body created within the window (by Postgres's clock) is the
--   existing run too, whatever its delivery id; same-body deliveries of one
--   endpoint serialize on a transaction advisory lock. With key_pending the
--   run's concurrency key is left for the worker to compute
--   (aias_set_run_key). One statement in its own implicit transaction: the
--   run is committed when the call returns. Called by run.Insert.
CREATE OR REPLACE FUNCTION aias_insert_run(p_id uuid, p_tenant uuid, p_workflow_id uuid, p_workflow_version int,
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
    RETURN QUERY SELECT r.id, true FROM runs r WHERE r.id = p_id AND r.tenant_id = p_tenant;
  ELSE
    RETURN QUERY SELECT r.id, true FROM runs r
                  WHERE r.endpoint_id = p_endpoint_id AND r.delivery_id = p_delivery_id AND r.tenant_id = p_tenant;
  END IF;
END
$$;
