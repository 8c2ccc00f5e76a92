-- aias_reset_use(token_hash, new_hash, request_id)
--   Uses a reset once: sets the user's password to new_hash, revokes every
--   session of the user, and records 'user.password_reset' in the audit log
--   of each of the user's tenants. Returns the user's id, or NULL when the
--   reset is unknown, used or expired (and then changes nothing).
CREATE OR REPLACE FUNCTION aias_reset_use(p_token_hash bytea, p_new_hash text, p_request_id text)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_user uuid;
BEGIN
  UPDATE password_resets r SET used_at = now()
   WHERE r.token_hash = p_token_hash AND r.used_at IS NULL AND r.expires_at > now()
  RETURNING r.user_id INTO v_user;
  IF v_user IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO user_credentials (user_id, password_hash) VALUES (v_user, p_new_hash)
  ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now();
  UPDATE user_sessions s SET revoked_at = now() WHERE s.user_id = v_user AND s.revoked_at IS NULL;
  INSERT INTO audit_log (id, tenant_id, actor_user_id, action, object_type, object_id, request_id)
  SELECT gen_random_uuid(), m.tenant_id, v_user, 'user.password_reset', 'user', v_user::text, left(p_request_id, 128)
    FROM memberships m WHERE m.user_id = v_user;
  RETURN v_user;
END
$$;
