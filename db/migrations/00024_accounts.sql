-- +goose Up
-- Human accounts: passwords, browser sign-ins, invitations and password
-- resets (internal/account, docs/accounts.md).
--
-- Secrets are never stored: a sign-in, invitation or reset token is kept as
-- its SHA-256 only, a password as its argon2id hash (PHC string). Every time
-- in this file is Postgres's now(): no function trusts a caller's clock.
--
-- Tables with a tenant (user_sessions, invites) carry the standard forced
-- tenant policy. Tables without one (user_credentials, password_resets,
-- login_failures) have row-level security forced with no policy and no grant
-- to aias_app: the programs reach them only through the SECURITY DEFINER
-- functions below, each with a fixed search_path and EXECUTE for aias_app only.

-- user_credentials: one password per user. users stays as it is: the API's
-- signup creates users without a password, and those never sign in here.
CREATE TABLE user_credentials (
    user_id        uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash  text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- user_sessions: one browser sign-in of one user, acting for one tenant. The
-- role is not stored: it is read from memberships on every request, so a
-- demotion or removal takes effect at once. A session is live while it is
-- not revoked, expires_at (absolute) is ahead and it was seen within
-- idle_timeout; both limits are fixed when it is created.
CREATE TABLE user_sessions (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,               -- sha256 of the cookie's token
    idle_timeout  interval NOT NULL CHECK (idle_timeout > interval '0'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),  -- refreshed at most once a minute
    expires_at    timestamptz NOT NULL,
    ip            text NOT NULL DEFAULT '',            -- for the user's own list of sign-ins
    user_agent    text NOT NULL DEFAULT '',
    revoked_at    timestamptz
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, tenant_id);

-- invites: a one-time link for email to join tenant with role.
CREATE TABLE invites (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (email = lower(email)),
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash   bytea NOT NULL UNIQUE,
    invited_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX invites_tenant ON invites (tenant_id, created_at DESC, id DESC);

-- password_resets: a one-time link to set a user's password.
CREATE TABLE password_resets (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- login_failures: every refused sign-in, including those for an email no
-- user has (which belong to no tenant, so cannot go to audit_log). Operators
-- read it as the schema owner; rows older than 90 days are dropped as new
-- ones arrive.
CREATE TABLE login_failures (
    id          uuid PRIMARY KEY,
    email       text NOT NULL,
    user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    reason      text NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_created ON login_failures (created_at);
CREATE INDEX login_failures_email ON login_failures (email, created_at);

-- audit_log learns who acted when the actor is a person, not a key.
ALTER TABLE audit_log ADD COLUMN actor_user_id uuid;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['user_sessions', 'invites'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
        USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
  -- no policy: nothing is visible to a role that row-level security confines
  FOREACH t IN ARRAY ARRAY['user_credentials', 'password_resets', 'login_failures'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The token hash is not readable by the programs: a session is found by its
-- token only through aias_session_lookup.
GRANT SELECT (id, tenant_id, user_id, idle_timeout, created_at, last_seen_at, expires_at, ip, user_agent, revoked_at)
    ON user_sessions TO aias_app;
GRANT UPDATE (revoked_at) ON user_sessions TO aias_app;
GRANT SELECT (id, tenant_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at),
      INSERT ON invites TO aias_app;
GRANT UPDATE (revoked_at) ON invites TO aias_app;
GRANT UPDATE (role), DELETE ON memberships TO aias_app;

-- aias_account_signup(email, tenant_name, password_hash, request_id)
--   A person's signup: a new user with a password, a new tenant, the owner
--   membership and an audit entry, without an API key. An email that already
--   has a user is refused with unique_violation, so a signup can never give a
--   password to an existing identity. Returns tenant_id, user_id.
-- +goose StatementBegin
CREATE FUNCTION aias_account_signup(p_email text, p_tenant_name text, p_password_hash text, p_request_id text,
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
-- +goose StatementEnd

-- aias_login_lookup(email)
--   The user and password hash for an email, or no row when no user has
--   that email or the user has no password. Used to verify a password (in
--   the program) before aias_session_create.
-- +goose StatementBegin
CREATE FUNCTION aias_login_lookup(p_email text)
RETURNS TABLE (user_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, c.password_hash FROM users u JOIN user_credentials c ON c.user_id = u.id
   WHERE u.email = lower(p_email)
$$;
-- +goose StatementEnd

-- aias_login_failed(email, ip, user_agent, reason, request_id)
--   Records a refused sign-in: always in login_failures, and, when a user
--   has the email, as 'user.login_failed' in the audit log of each of its
--   tenants. Drops login_failures rows older than 90 days.
-- +goose StatementBegin
CREATE FUNCTION aias_login_failed(p_email text, p_ip text, p_user_agent text, p_reason text, p_request_id text)
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
-- +goose StatementEnd

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
-- +goose StatementBegin
CREATE FUNCTION aias_session_create(p_user uuid, p_tenant uuid, p_password_hash text, p_token_hash bytea,
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
-- +goose StatementEnd

-- aias_session_lookup(token_hash)
--   Resolves a presented session token before the tenant is known. One row
--   (id, user_id, email, tenant_id, role, created_at, last_seen_at,
--   expires_at) for a live session whose user is still a member of its
--   active tenant, with the role of that membership now; otherwise nothing.
--   Records the visit at most once a minute.
-- +goose StatementBegin
CREATE FUNCTION aias_session_lookup(p_token_hash bytea)
RETURNS TABLE (id uuid, user_id uuid, email text, tenant_id uuid, role text,
               created_at timestamptz, last_seen_at timestamptz, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
  UPDATE user_sessions s SET last_seen_at = now()
   WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now()
     AND s.last_seen_at > now() - s.idle_timeout AND s.last_seen_at < now() - interval '1 minute';
  RETURN QUERY
  SELECT s.id, s.user_id, u.email, s.tenant_id, m.role, s.created_at, s.last_seen_at, s.expires_at
    FROM user_sessions s
    JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
    JOIN tenants t     ON t.id = s.tenant_id AND t.status = 'active'
    JOIN users u       ON u.id = s.user_id
   WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now()
     AND s.last_seen_at > now() - s.idle_timeout;
END
$$;
-- +goose StatementEnd

-- aias_session_revoke(token_hash, all_of_user, request_id)
--   Signs out: revokes the session the token names, or with all_of_user
--   every unrevoked session of that session's user in every tenant (the
--   token must then name a live session). Audited in the token's tenant.
--   Returns how many sessions it revoked.
-- +goose StatementBegin
CREATE FUNCTION aias_session_revoke(p_token_hash bytea, p_all_of_user boolean, p_request_id text)
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
-- +goose StatementEnd

-- aias_invite_lookup(token_hash)
--   A pending, unexpired invitation to an active tenant, with what accepting
--   it needs: the tenant's name, the invited email and role, and the user
--   who has that email already (with their password hash, NULL when they
--   have none), or NULL user_id. No row for any other token.
-- +goose StatementBegin
CREATE FUNCTION aias_invite_lookup(p_token_hash bytea)
RETURNS TABLE (invite_id uuid, tenant_id uuid, tenant_name text, email text, role text,
               user_id uuid, password_hash text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.tenant_id, t.name, i.email, i.role, u.id, c.password_hash, i.expires_at
    FROM invites i
    JOIN tenants t ON t.id = i.tenant_id AND t.status = 'active'
    LEFT JOIN users u ON u.email = i.email
    LEFT JOIN user_credentials c ON c.user_id = u.id
   WHERE i.token_hash = p_token_hash AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
$$;
-- +goose StatementEnd

-- aias_invite_accept(token_hash, expected_hash, new_hash, request_id)
--   Uses an invitation once. A new email becomes a user with password
--   new_hash; an existing user joins only if their password hash is still
--   expected_hash (the program verified their password against it). A user
--   without a password is refused: they set one through a reset link, so an
--   invitation can never put a password on an identity that has other
--   tenants. The membership keeps an existing role if the user is already a
--   member. Returns user_id, tenant_id, role, password_hash; no row (and
--   nothing changed) when the invitation or the password check fails.
-- +goose StatementBegin
CREATE FUNCTION aias_invite_accept(p_token_hash bytea, p_expected_hash text, p_new_hash text, p_request_id text)
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
-- +goose StatementEnd

-- aias_reset_create(email, token_hash, ttl)
--   A one-time password reset for the user with email, valid for ttl (held
--   between 1 minute and 24 hours); the user's earlier unused resets stop
--   working. Returns the user's id, or
--   NULL when no user has that email.
-- +goose StatementBegin
CREATE FUNCTION aias_reset_create(p_email text, p_token_hash bytea, p_ttl interval)
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
-- +goose StatementEnd

-- aias_reset_lookup(token_hash)
--   The user (user_id, email) of an unused, unexpired reset, or no row.
-- +goose StatementBegin
CREATE FUNCTION aias_reset_lookup(p_token_hash bytea)
RETURNS TABLE (user_id uuid, email text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, u.email FROM password_resets r JOIN users u ON u.id = r.user_id
   WHERE r.token_hash = p_token_hash AND r.used_at IS NULL AND r.expires_at > now()
$$;
-- +goose StatementEnd

-- aias_reset_use(token_hash, new_hash, request_id)
--   Uses a reset once: sets the user's password to new_hash, revokes every
--   session of the user, and records 'user.password_reset' in the audit log
--   of each of the user's tenants. Returns the user's id, or NULL when the
--   reset is unknown, used or expired (and then changes nothing).
-- +goose StatementBegin
CREATE FUNCTION aias_reset_use(p_token_hash bytea, p_new_hash text, p_request_id text)
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
-- +goose StatementEnd

-- aias_password_rehash(user, old_hash, new_hash)
--   Replaces a password hash made with older argon2id parameters by one of
--   the same password with the current ones, only if the stored hash is
--   still old_hash. Returns whether it did.
-- +goose StatementBegin
CREATE FUNCTION aias_password_rehash(p_user uuid, p_old_hash text, p_new_hash text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE user_credentials c SET password_hash = p_new_hash, updated_at = now()
   WHERE c.user_id = p_user AND c.password_hash = p_old_hash;
  RETURN FOUND;
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION aias_account_signup(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_login_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_login_failed(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_session_create(uuid, uuid, text, bytea, text, text, interval, interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_session_lookup(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_session_revoke(bytea, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_invite_lookup(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_invite_accept(bytea, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_reset_create(text, bytea, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_reset_lookup(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_reset_use(bytea, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_password_rehash(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_account_signup(text, text, text, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_login_lookup(text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_login_failed(text, text, text, text, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_session_create(uuid, uuid, text, bytea, text, text, interval, interval, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_session_lookup(bytea) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_session_revoke(bytea, boolean, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_invite_lookup(bytea) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_invite_accept(bytea, text, text, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_reset_create(text, bytea, interval) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_reset_lookup(bytea) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_reset_use(bytea, text, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_password_rehash(uuid, text, text) TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_password_rehash(uuid, text, text);
DROP FUNCTION IF EXISTS aias_reset_use(bytea, text, text);
DROP FUNCTION IF EXISTS aias_reset_lookup(bytea);
DROP FUNCTION IF EXISTS aias_reset_create(text, bytea, interval);
DROP FUNCTION IF EXISTS aias_invite_accept(bytea, text, text, text);
DROP FUNCTION IF EXISTS aias_invite_lookup(bytea);
DROP FUNCTION IF EXISTS aias_session_revoke(bytea, boolean, text);
DROP FUNCTION IF EXISTS aias_session_lookup(bytea);
DROP FUNCTION IF EXISTS aias_session_create(uuid, uuid, text, bytea, text, text, interval, interval, text);
DROP FUNCTION IF EXISTS aias_login_failed(text, text, text, text, text);
DROP FUNCTION IF EXISTS aias_login_lookup(text);
DROP FUNCTION IF EXISTS aias_account_signup(text, text, text, text);
REVOKE UPDATE (role), DELETE ON memberships FROM aias_app;
ALTER TABLE audit_log DROP COLUMN IF EXISTS actor_user_id;
DROP TABLE IF EXISTS login_failures, password_resets, invites, user_sessions, user_credentials;
