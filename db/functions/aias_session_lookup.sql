-- aias_session_lookup(token_hash, seen)
--   Resolves a presented session token before the tenant is known. One row
--   (id, user_id, email, tenant_id, role, created_at, last_seen_at,
--   expires_at) for a live session whose user is still a member of its
--   active tenant, with the role of that membership now; otherwise nothing.
--   When seen, records the visit (at most once a minute); a page's own
--   automatic reload is not seen, so a tab left open still ends at the
--   idle timeout.
CREATE OR REPLACE FUNCTION aias_session_lookup(p_token_hash bytea, p_seen boolean)
RETURNS TABLE (id uuid, user_id uuid, email text, tenant_id uuid, role text,
               created_at timestamptz, last_seen_at timestamptz, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
  IF p_seen THEN
    UPDATE user_sessions s SET last_seen_at = now()
     WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now()
       AND s.last_seen_at > now() - s.idle_timeout AND s.last_seen_at < now() - interval '1 minute';
  END IF;
  RETURN QUERY
  SELECT s.id, s.user_id, u.email, s.tenant_id, m.role, s.created_at, s.last_seen_at, s.expires_at
    FROM user_sessions s
    JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
    JOIN tenants t     ON t.id = s.tenant_id AND t.status = 'active'
    JOIN users u       ON u.id = s.user_id
   WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now()
     AND s.last_seen_at > now() - s.idle_timeout;
END
$$;
