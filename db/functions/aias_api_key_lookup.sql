-- aias_api_key_lookup(key_hash)
--   Resolves a presented API key before the tenant is known. Returns one row
--   (id, tenant_id, role) for an unrevoked key of an active tenant, or nothing.
--   Records last use at most once a minute per key.
CREATE OR REPLACE FUNCTION aias_api_key_lookup(p_key_hash bytea)
RETURNS TABLE (id uuid, tenant_id uuid, role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE api_keys k SET last_used_at = now()
   WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
     AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
  RETURN QUERY
  SELECT k.id, k.tenant_id, k.role
    FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
   WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND t.status = 'active';
END
$$;
