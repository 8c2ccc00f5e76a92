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

SELECT aias_enable_rls('user_sessions');
SELECT aias_enable_rls('invites');
-- no policy: nothing is visible to a role that row-level security confines
SELECT aias_enable_rls('user_credentials', NULL);
SELECT aias_enable_rls('password_resets', NULL);
SELECT aias_enable_rls('login_failures', NULL);

-- The token hash is not readable by the programs: a session is found by its
-- token only through aias_session_lookup.
GRANT SELECT (id, tenant_id, user_id, idle_timeout, created_at, last_seen_at, expires_at, ip, user_agent, revoked_at)
    ON user_sessions TO aias_app;
GRANT UPDATE (revoked_at) ON user_sessions TO aias_app;
GRANT SELECT (id, tenant_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at),
      INSERT ON invites TO aias_app;
GRANT UPDATE (revoked_at) ON invites TO aias_app;
GRANT UPDATE (role), DELETE ON memberships TO aias_app;

-- The functions of accounts (aias_account_signup, aias_login_*, aias_session_*,
-- aias_invite_*, aias_reset_*, aias_password_rehash) are in db/functions;
-- db/functions/grants.sql lets aias_app alone execute them.

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
