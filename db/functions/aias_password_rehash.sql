-- aias_password_rehash(user, old_hash, new_hash)
--   Replaces a password hash made with older argon2id parameters by one of
--   the same password with the current ones, only if the stored hash is
--   still old_hash. Returns whether it did.
CREATE OR REPLACE FUNCTION aias_password_rehash(p_user uuid, p_old_hash text, p_new_hash text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE user_credentials c SET password_hash = p_new_hash, updated_at = now()
   WHERE c.user_id = p_user AND c.password_hash = p_old_hash;
  RETURN FOUND;
END
$$;
