-- aias_login_lookup(email)
--   The user and password hash for an email, or no row when no user has
--   that email or the user has no password. Used to verify a password (in
--   the program) before aias_session_create.
CREATE OR REPLACE FUNCTION aias_login_lookup(p_email text)
RETURNS TABLE (user_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, c.password_hash FROM users u JOIN user_credentials c ON c.user_id = u.id
   WHERE u.email = lower(p_email)
$$;
