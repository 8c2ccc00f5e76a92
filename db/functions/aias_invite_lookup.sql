-- aias_invite_lookup(token_hash)
--   A pending, unexpired invitation to an active tenant, with what accepting
--   it needs: the tenant's name, the invited email and role, and the user
--   who has that email already (with their password hash, NULL when they
--   have none), or NULL user_id. No row for any other token.
CREATE OR REPLACE FUNCTION aias_invite_lookup(p_token_hash bytea)
RETURNS TABLE (invite_id uuid, tenant_id uuid, tenant_name text, email text, role text,
               user_id uuid, password_hash text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.tenant_id, t.name, i.email, i.role, u.id, c.password_hash, i.expires_at
    FROM invites i
    JOIN tenants t ON t.id = i.tenant_id AND t.status = 'active'
    LEFT JOIN users u ON u.email = i.email
    LEFT JOIN user_credentials c ON c.user_id = u.id
   WHERE i.token_hash = p_token_hash AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
$$;
