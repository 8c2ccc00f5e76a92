-- aias_login_failed(email, ip, user_agent, reason, request_id)
--   Records a refused sign-in: always in login_failures, and, when a user
--   has the email, as 'user.login_failed' in the audit log of each of its
--   tenants. Drops login_failures rows older than 90 days.
CREATE OR REPLACE FUNCTION aias_login_failed(p_email text, p_ip text, p_user_agent text, p_reason text, p_request_id text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_user uuid;
BEGIN
  SELECT u.id INTO v_user FROM users u WHERE u.email = lower(p_email);
  INSERT INTO login_failures (id, email, user_id, ip, user_agent, reason, request_id)
  VALUES (gen_random_uuid(), left(lower(p_email), 254), v_user, left(p_ip, 64), left(p_user_agent, 512),
          left(p_reason, 64), left(p_request_id, 128));
  IF v_user IS NOT NULL THEN
    INSERT INTO audit_log (id, tenant_id, action, object_type, object_id, request_id)
    SELECT gen_random_uuid(), m.tenant_id, 'user.login_failed', 'user', v_user::text, left(p_request_id, 128)
      FROM memberships m WHERE m.user_id = v_user;
  END IF;
  DELETE FROM login_failures WHERE created_at < now() - interval '90 days';
END
$$;
