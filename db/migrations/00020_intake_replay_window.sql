-- +goose Up
-- A body-hash replay window for senders whose delivery id is not signed.
--
-- GitHub, Shopify and the generic hmac scheme sign the body only: their
-- delivery id header is not covered by the signature, so anyone holding a
-- captured delivery and the URL could resend it under a new id and start a
-- second run. The intake now passes, for such deliveries, the body's SHA-256
-- and a window (signature.Result.ReplayWindow: 5 minutes, or twice the
-- tolerance when a timestamp is signed); a run of the same endpoint with the
-- same body created within the window makes the delivery a duplicate.

-- body_sha256: set only on runs whose delivery came with a replay window.
ALTER TABLE runs ADD COLUMN body_sha256 bytea;
CREATE INDEX runs_endpoint_body ON runs (endpoint_id, body_sha256, created_at)
    WHERE body_sha256 IS NOT NULL;

DROP FUNCTION aias_insert_run(uuid, uuid, uuid, int, uuid, text, text, int, text, bytea, text, jsonb, jsonb,
                              timestamptz, boolean, text);

-- aias_insert_run(..., body_sha256, replay_window)
--   As in 00012: creates a queued (or, over quota, held and uncounted) run
--   for the tenant and returns its id with duplicate = false; when the run
--   exists (the same delivery id on the endpoint, or the same run id),
--   returns the existing run's id with duplicate = true. With a
--   replay_window (and the body's SHA-256), a run of the same endpoint with
--   the same body created within the window (by Postgres's clock) is the
--   existing run too, whatever its delivery id; same-body deliveries of one
--   endpoint serialize on a transaction advisory lock, so of concurrent
--   copies one inserts and the others find it. The last two parameters
--   default to NULL (no window), so a caller that passes the first sixteen
--   (a program of the previous release, during an upgrade) works as before.
--   Called by run.Insert, inside a transaction of the same tenant or alone.
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

-- +goose Down
DROP FUNCTION IF EXISTS aias_insert_run(uuid, uuid, uuid, int, uuid, text, text, int, text, bytea, text, jsonb, jsonb,
                                        timestamptz, boolean, text, bytea, interval);
-- +goose StatementBegin
CREATE FUNCTION aias_insert_run(p_id uuid, p_tenant uuid, p_workflow_id uuid, p_workflow_version int,
                                p_endpoint_id uuid, p_trigger_kind text, p_delivery_id text, p_max_attempts int,
                                p_request_id text, p_body bytea, p_content_type text, p_headers jsonb, p_query jsonb,
                                p_received_at timestamptz, p_held boolean, p_concurrency_key text)
RETURNS TABLE (id uuid, duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  new_id uuid;
BEGIN
  PERFORM aias_scope(p_tenant);
  INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind, delivery_id,
                    status, max_attempts, request_id, body, content_type, headers, query, received_at,
                    counted_at, concurrency_key)
  VALUES (p_id, p_tenant, p_workflow_id, p_workflow_version, p_endpoint_id, p_trigger_kind, p_delivery_id,
          CASE WHEN p_held THEN 'held' ELSE 'queued' END, p_max_attempts, p_request_id, p_body, p_content_type,
          p_headers, p_query, p_received_at, CASE WHEN p_held THEN NULL ELSE now() END, p_concurrency_key)
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
DROP INDEX IF EXISTS runs_endpoint_body;
ALTER TABLE runs DROP COLUMN IF EXISTS body_sha256;
