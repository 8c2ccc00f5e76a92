-- aias_signup(email, tenant_name, key_hash, key_prefix)
--   Creates (or finds) the user, a new tenant, the owner membership and the
--   owner's first API key, in the caller's transaction.
--   Returns tenant_id, user_id, api_key_id. Callable by aias_app (POST /api/v1/signup
--   and 'aias tenant create'); it can only ever create, never read another tenant.
CREATE OR REPLACE FUNCTION aias_signup(p_email text, p_tenant_name text, p_key_hash bytea, p_key_prefix text,
                            OUT tenant_id uuid, OUT user_id uuid, OUT api_key_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO users (id, email) VALUES (gen_random_uuid(), lower(p_email))
  ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
  RETURNING id INTO user_id;
  tenant_id := gen_random_uuid();
  INSERT INTO tenants (id, name) VALUES (tenant_id, p_tenant_name);
  INSERT INTO memberships (tenant_id, user_id, role) VALUES (tenant_id, user_id, 'owner');
  api_key_id := gen_random_uuid();
  INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, role)
  VALUES (api_key_id, tenant_id, user_id, 'owner key', p_key_prefix, p_key_hash, 'owner');
END
$$;
