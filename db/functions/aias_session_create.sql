-- aias_session_create(user, tenant, password_hash, token_hash, ip, user_agent, idle, absolute, request_id)
--   Signs a user in, after the program verified their password against
--   password_hash: refuses (no row) when the stored hash is no longer that
--   one (changed or reset meanwhile). Acts for tenant, or, when tenant is
--   NULL, for the user's oldest membership; no row when the user is not a
--   member of an active tenant. Records 'user.login' in that tenant's audit
--   log and drops the user's sessions that ended over a week ago. idle is
--   held between 1 minute and 30 days, absolute between 1 minute and 90
--   days, whatever the caller asks.
--   Returns id, tenant_id, role, email, created_at, expires_at.
CREATE OR REPLACE FUNCTION aias_session_create(p_user uuid, p_tenant uuid, p_password_hash text, p_token_hash bytea,
                                    p_ip text, p_user_agent text, p_idle interval, p_absolute interval,
                                    p_request_id text)
RETURNS TABLE (id uuid, tenant_id uuid, role text, email text, created_at timestamptz, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  v_tenant uuid;
  v_role text;
  v_id uuid := gen_random_uuid();
BEGIN
  PERFORM 1 FROM user_credentials c WHERE c.user_id = p_user AND c.password_hash = p_password_hash;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT m.tenant_id, m.role INTO v_tenant, v_role
    FROM memberships m JOIN tenants t ON t.id = m.tenant_id AND t.status = 'active'
   WHERE m.user_id = p_user AND (p_tenant IS NULL OR m.tenant_id = p_tenant)
   ORDER BY m.created_at, m.tenant_id LIMIT 1;
  IF v_tenant IS NULL THEN
    RETURN;
  END IF;
  DELETE FROM user_sessions s
   WHERE s.user_id = p_user
     AND least(s.expires_at, s.last_seen_at + s.idle_timeout, coalesce(s.revoked_at, 'infinity')) < now() - interval '7 days';
  INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, idle_timeout, expires_at, ip, user_agent)
  VALUES (v_id, v_tenant, p_user, p_token_hash,
          least(greatest(p_idle, interval '1 minute'), interval '30 days'),
          now() + least(greatest(p_absolute, interval '1 minute'), interval '90 days'),
          left(p_ip, 64), left(p_user_agent, 512));
  INSERT INTO audit_log (id, tenant_id, actor_user_id, action, object_type, object_id, request_id)
  VALUES (gen_random_uuid(), v_tenant, p_user, 'user.login', 'session', v_id::text, left(p_request_id, 128));
  RETURN QUERY SELECT s.id, s.tenant_id, v_role, u.email, s.created_at, s.expires_at
                 FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = v_id;
END
$$;
