-- aias_reset_create(email, token_hash, ttl)
--   A one-time password reset for the user with email, valid for ttl (held
--   between 1 minute and 24 hours); the user's earlier unused resets stop
--   working. Returns the user's id, or
--   NULL when no user has that email.
CREATE OR REPLACE FUNCTION aias_reset_create(p_email text, p_token_hash bytea, p_ttl interval)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_user uuid;
BEGIN
  SELECT u.id INTO v_user FROM users u WHERE u.email = lower(p_email);
  IF v_user IS NULL THEN
    RETURN NULL;
  END IF;
  DELETE FROM password_resets r WHERE r.user_id = v_user AND (r.used_at IS NULL OR r.expires_at < now());
  INSERT INTO password_resets (id, user_id, token_hash, expires_at)
  VALUES (gen_random_uuid(), v_user, p_token_hash,
          now() + least(greatest(p_ttl, interval '1 minute'), interval '24 hours'));
  RETURN v_user;
END
$$;
