-- aias_session_revoke(token_hash, all_of_user, request_id)
--   Signs out: revokes the session the token names, or with all_of_user
--   every unrevoked session of that session's user in every tenant (the
--   token must then name a live session). Audited in the token's tenant.
--   Returns how many sessions it revoked.
CREATE OR REPLACE FUNCTION aias_session_revoke(p_token_hash bytea, p_all_of_user boolean, p_request_id text)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_session user_sessions%ROWTYPE;
  v_count int;
BEGIN
  SELECT * INTO v_session FROM user_sessions s WHERE s.token_hash = p_token_hash;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  IF NOT p_all_of_user THEN
    UPDATE user_sessions s SET revoked_at = now() WHERE s.id = v_session.id AND s.revoked_at IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
  ELSIF v_session.revoked_at IS NULL AND v_session.expires_at > now()
        AND v_session.last_seen_at > now() - v_session.idle_timeout THEN
    UPDATE user_sessions s SET revoked_at = now() WHERE s.user_id = v_session.user_id AND s.revoked_at IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
  ELSE
    RETURN 0;
  END IF;
  IF v_count > 0 THEN
    INSERT INTO audit_log (id, tenant_id, actor_user_id, action, object_type, object_id, request_id)
    VALUES (gen_random_uuid(), v_session.tenant_id, v_session.user_id,
            CASE WHEN p_all_of_user THEN 'user.logout_everywhere' ELSE 'user.logout' END,
            'session', v_session.id::text, left(p_request_id, 128));
  END IF;
  RETURN v_count;
END
$$;
