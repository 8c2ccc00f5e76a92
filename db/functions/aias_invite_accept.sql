-- aias_invite_accept(token_hash, expected_hash, new_hash, request_id)
--   Uses an invitation once. A new email becomes a user with password
--   new_hash; an existing user joins only if their password hash is still
--   expected_hash (the program verified their password against it). A user
--   without a password is refused: they set one through a reset link, so an
--   invitation can never put a password on an identity that has other
--   tenants. The membership keeps an existing role if the user is already a
--   member. Returns user_id, tenant_id, role, password_hash; no row (and
--   nothing changed) when the invitation or the password check fails.
CREATE OR REPLACE FUNCTION aias_invite_accept(p_token_hash bytea, p_expected_hash text, p_new_hash text, p_request_id text)
RETURNS TABLE (user_id uuid, tenant_id uuid, role text, password_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  v_invite invites%ROWTYPE;
  v_user uuid;
  v_hash text;
BEGIN
  SELECT * INTO v_invite FROM invites i
   WHERE i.token_hash = p_token_hash AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT u.id INTO v_user FROM users u WHERE u.email = v_invite.email FOR UPDATE;
  IF v_user IS NULL THEN
    IF p_new_hash IS NULL THEN
      RETURN;
    END IF;
    v_user := gen_random_uuid();
    INSERT INTO users (id, email) VALUES (v_user, v_invite.email);
    INSERT INTO user_credentials (user_id, password_hash) VALUES (v_user, p_new_hash);
    v_hash := p_new_hash;
  ELSE
    SELECT c.password_hash INTO v_hash FROM user_credentials c WHERE c.user_id = v_user;
    IF v_hash IS NULL OR v_hash IS DISTINCT FROM p_expected_hash THEN
      RETURN;
    END IF;
  END IF;
  UPDATE invites i SET accepted_at = now() WHERE i.id = v_invite.id;
  INSERT INTO memberships (tenant_id, user_id, role) VALUES (v_invite.tenant_id, v_user, v_invite.role)
  ON CONFLICT DO NOTHING;
  INSERT INTO audit_log (id, tenant_id, actor_user_id, action, object_type, object_id, request_id)
  VALUES (gen_random_uuid(), v_invite.tenant_id, v_user, 'invite.accept', 'invite', v_invite.id::text,
          left(p_request_id, 128));
  RETURN QUERY SELECT v_user, m.tenant_id, m.role, v_hash FROM memberships m
                WHERE m.tenant_id = v_invite.tenant_id AND m.user_id = v_user;
END
$$;
