-- aias_reset_lookup(token_hash)
--   The user (user_id, email) of an unused, unexpired reset, or no row.
CREATE OR REPLACE FUNCTION aias_reset_lookup(p_token_hash bytea)
RETURNS TABLE (user_id uuid, email text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, u.email FROM password_resets r JOIN users u ON u.id = r.user_id
   WHERE r.token_hash = p_token_hash AND r.used_at IS NULL AND r.expires_at > now()
$$;
