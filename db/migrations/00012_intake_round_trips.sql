-- +goose Up
-- The intake's two trips to Postgres, one round trip each.
--
-- Through database/sql and lib/pq, a transaction scoped to a tenant costs a
-- round trip for BEGIN, one for the tenant setting, one per statement and
-- one for COMMIT: nine for a delivery (endpoint lookup, signing secrets, run
-- row), where the statements themselves are cheap. These functions set the
-- tenant and do the work in one call, run as a single statement in its own
-- implicit transaction: one round trip for the lookup, one for the run row,
-- committed before the call returns. They are SECURITY INVOKER: the
-- application role's row-level security applies to every row they touch,
-- scoped to the tenant they set.

-- aias_scope(tenant)
--   Scopes the current transaction to tenant, as postgres.DB.InTenantTx
--   does (the setting ends with the transaction). A transaction already
--   scoped to another tenant is refused, so a function that scopes itself
--   cannot be used to step out of a caller's tenant.
-- +goose StatementBegin
CREATE FUNCTION aias_scope(p_tenant uuid)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  current_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS DISTINCT FROM p_tenant AND current_tenant IS NOT NULL THEN
    RAISE EXCEPTION 'aias_scope: the transaction belongs to another tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
END
$$;
-- +goose StatementEnd

-- aias_intake_target(tenant, token_hash)
--   The enabled endpoint of an active tenant that a URL token addresses (the
--   current token, or the previous one within its grace), with what a
--   delivery to it needs: its workflow's current version, retry budget and
--   ordering key expression, the tenant's plan, and one row per signing
--   secret that still verifies, newest first (one row with NULL secret
--   columns when it has none). Called by webhook.Intake.Resolve.
-- +goose StatementBegin
CREATE FUNCTION aias_intake_target(p_tenant uuid, p_token_hash bytea)
RETURNS TABLE (endpoint_id uuid, workflow_id uuid, version int, verification jsonb, max_body_bytes bigint,
               plan text, max_attempts int, concurrency_key text, secret_id uuid, ciphertext bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM aias_scope(p_tenant);
  RETURN QUERY
  SELECT e.id, w.id, w.current_version, e.verification, e.max_body_bytes, t.plan,
         coalesce((v.definition#>>'{retry,max_attempts}')::int, (v.definition->>'max_attempts')::int, 0),
         coalesce(v.definition->>'concurrency_key', ''),
         s.id, s.ciphertext
    FROM webhook_endpoints e
    JOIN workflows w          ON w.id = e.workflow_id AND w.deleted_at IS NULL AND w.enabled
    JOIN workflow_versions v  ON v.workflow_id = w.id AND v.version = w.current_version
    JOIN tenants t            ON t.id = e.tenant_id AND t.status = 'active'
    LEFT JOIN endpoint_secrets s ON s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > now())
   WHERE (e.token_hash = p_token_hash OR (e.previous_token_hash = p_token_hash AND e.previous_token_expires_at > now()))
     AND e.enabled AND e.deleted_at IS NULL
   ORDER BY s.created_at DESC;
END
$$;
-- +goose StatementEnd

-- aias_insert_run(...)
--   Creates a queued (or, over quota, held and uncounted) run for the
--   tenant and returns its id with duplicate = false. When the run cannot be
--   inserted because it exists (the same delivery id on the endpoint, or the
--   same run id: a schedule's deterministic tick), returns the existing
--   run's id with duplicate = true. Concurrent inserts of one delivery
--   serialize on the unique index: one wins, the others return its row.
--   Called by run.Insert, inside a transaction of the same tenant or alone.
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

-- +goose Down
DROP FUNCTION IF EXISTS aias_insert_run(uuid, uuid, uuid, int, uuid, text, text, int, text, bytea, text, jsonb, jsonb,
                                        timestamptz, boolean, text);
DROP FUNCTION IF EXISTS aias_intake_target(uuid, bytea);
DROP FUNCTION IF EXISTS aias_scope(uuid);
