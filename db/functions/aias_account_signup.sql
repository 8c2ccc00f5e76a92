-- aias_account_signup(email, tenant_name, password_hash, request_id)
--   A person's signup: a new user with a password, a new tenant, the owner
--   membership and an audit entry, without an API key. An email that already
--   has a user is refused with unique_violation, so a signup can never give a
--   password to an existing identity. Returns tenant_id, user_id.
CREATE OR REPLACE FUNCTION aias_account_signup(p_email text, p_tenant_name text, p_password_hash text, p_request_id text,
                                    OUT tenant_id uuid, OUT user_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO users (id, email) VALUES (gen_random_uuid(), lower(p_email))
  ON CONFLICT (email) DO NOTHING
  RETURNING id INTO user_id;
  IF user_id IS NULL THEN
    RAISE EXCEPTION 'aias_account_signup: the email already has an account' USING ERRCODE = 'unique_violation';
  END IF;
  tenant_id := gen_random_uuid();
  INSERT INTO tenants (id, name) VALUES (tenant_id, p_tenant_name);
  INSERT INTO memberships (tenant_id, user_id, role) VALUES (tenant_id, user_id, 'owner');
  INSERT INTO user_credentials (user_id, password_hash) VALUES (user_id, p_password_hash);
  INSERT INTO audit_log (id, tenant_id, actor_user_id, action, object_type, object_id, request_id)
  VALUES (gen_random_uuid(), tenant_id, user_id, 'tenant.signup', 'tenant', tenant_id::text, p_request_id);
END
$$;
