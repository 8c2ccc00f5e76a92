-- aias_intake_target(tenant, token_hash)
--   The enabled endpoint of an active tenant that a URL token addresses (the
--   current token, or the previous one within its grace), with what a
--   delivery to it needs: its workflow's current version, retry budget and
--   ordering key expression, the tenant's plan, and one row per signing
--   secret that still verifies, newest first (one row with NULL secret
--   columns when it has none). Called by webhook.Intake.Resolve.
CREATE OR REPLACE FUNCTION aias_intake_target(p_tenant uuid, p_token_hash bytea)
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
     AND e.tenant_id = p_tenant AND e.enabled AND e.deleted_at IS NULL
   ORDER BY s.created_at DESC;
END
$$;
