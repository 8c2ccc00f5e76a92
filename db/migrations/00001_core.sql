-- +goose Up
-- The core schema: tenants, keys, workflows, endpoints, runs, steps, artifacts.
--
-- Row-level security contract (see docs/data.md):
--   * every table holding tenant data has tenant_id, RLS ENABLED and FORCED, and
--     one policy comparing tenant_id with current_setting('app.tenant_id', true);
--     with the setting unset no row is visible and no row can be written.
--   * the programs connect as a login role that is a member of aias_app: no
--     superuser, no BYPASSRLS, owns nothing. The migrating role owns the schema.
--   * the few look-ups made before the tenant is known go through the
--     SECURITY DEFINER functions at the end of this file.

-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aias_app') THEN
    CREATE ROLE aias_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another migration created it concurrently
END
$$;
-- +goose StatementEnd

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    plan        text NOT NULL DEFAULT 'free',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- users are identities shared across tenants; they are reached only through
-- memberships (policy below) and created only by aias_signup().
CREATE TABLE users (
    id          uuid PRIMARY KEY,
    email       text NOT NULL UNIQUE CHECK (email = lower(email)),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    name         text NOT NULL,
    prefix       text NOT NULL,               -- first characters, to recognise a key in lists
    key_hash     bytea NOT NULL UNIQUE,       -- sha256 of the whole key; the key itself is never stored
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE workflows (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL,
    current_version int  NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE UNIQUE INDEX workflows_tenant_name ON workflows (tenant_id, name) WHERE deleted_at IS NULL;
CREATE INDEX workflows_tenant_created ON workflows (tenant_id, created_at, id);

-- Versions are immutable: the application role may insert and read, never update.
CREATE TABLE workflow_versions (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id  uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version      int  NOT NULL CHECK (version >= 1),
    definition   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id     uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    name            text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,    -- sha256 of the URL token
    token_prefix    text NOT NULL,
    verification    jsonb NOT NULL DEFAULT '{"scheme":"token"}',
    max_body_bytes  bigint,                   -- NULL: the operator's default
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at, id);

-- A run is one execution of one pinned workflow version for one trigger.
-- status: queued -> running -> succeeded | failed | dead | canceled
CREATE TABLE runs (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id       uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    workflow_version  int  NOT NULL,
    endpoint_id       uuid REFERENCES webhook_endpoints (id) ON DELETE SET NULL,
    trigger_kind      text NOT NULL CHECK (trigger_kind IN ('webhook', 'manual', 'replay', 'schedule')),
    delivery_id       text,                   -- the sender's idempotency key, unique per endpoint
    status            text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'canceled')),
    attempt           int  NOT NULL DEFAULT 0,
    max_attempts      int  NOT NULL,
    request_id        text NOT NULL DEFAULT '',
    body              bytea NOT NULL,          -- the trigger body, byte for byte
    content_type      text NOT NULL DEFAULT '',
    headers           jsonb NOT NULL DEFAULT '{}',
    query             jsonb NOT NULL DEFAULT '{}',
    error             text,
    next_attempt_at   timestamptz,             -- latest time a retry is due; the sweep waits past it
    received_at       timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workflow_id, workflow_version) REFERENCES workflow_versions (workflow_id, version)
);
CREATE UNIQUE INDEX runs_endpoint_delivery ON runs (endpoint_id, delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX runs_tenant_created ON runs (tenant_id, created_at DESC, id DESC);
CREATE INDEX runs_tenant_workflow_created ON runs (tenant_id, workflow_id, created_at DESC, id DESC);
-- the sweep's scan: only unfinished runs are indexed
CREATE INDEX runs_unfinished ON runs (updated_at, id) WHERE status IN ('queued', 'running');

-- One row per step of a run, rewritten by each attempt until the step succeeds.
CREATE TABLE run_steps (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position     int  NOT NULL,
    name         text NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
    attempt      int  NOT NULL,
    output       jsonb,
    error        text,
    logs         jsonb NOT NULL DEFAULT '[]',
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, position)
);

CREATE TABLE artifacts (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_id        uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_position int  NOT NULL,
    name          text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    sha256        text NOT NULL,
    content       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, step_position, name)
);
CREATE INDEX artifacts_run ON artifacts (run_id, created_at);

-- Row-level security: one policy per table on the transaction's tenant.
-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['memberships', 'api_keys', 'workflows', 'workflow_versions',
                           'webhook_endpoints', 'runs', 'run_steps', 'artifacts'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
        USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END
$$;
-- +goose StatementEnd

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_members ON users FOR SELECT
    USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id
                   AND m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid));

GRANT USAGE ON SCHEMA public TO aias_app;
GRANT SELECT ON tenants TO aias_app;
GRANT SELECT ON users, memberships TO aias_app;
GRANT SELECT, INSERT ON api_keys TO aias_app;
GRANT UPDATE (revoked_at) ON api_keys TO aias_app;
GRANT SELECT, INSERT, UPDATE ON workflows, webhook_endpoints, runs, run_steps TO aias_app;
GRANT SELECT, INSERT ON workflow_versions, artifacts TO aias_app;
GRANT DELETE ON run_steps TO aias_app;

-- aias_signup(email, tenant_name, key_hash, key_prefix)
--   Creates (or finds) the user, a new tenant, the owner membership and the
--   owner's first API key, in the caller's transaction.
--   Returns tenant_id, user_id, api_key_id. Callable by aias_app (POST /api/v1/signup
--   and 'aias tenant create'); it can only ever create, never read another tenant.
-- +goose StatementBegin
CREATE FUNCTION aias_signup(p_email text, p_tenant_name text, p_key_hash bytea, p_key_prefix text,
                            OUT tenant_id uuid, OUT user_id uuid, OUT api_key_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO users (id, email) VALUES (gen_random_uuid(), lower(p_email))
  ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
  RETURNING id INTO user_id;
  tenant_id := gen_random_uuid();
  INSERT INTO tenants (id, name) VALUES (tenant_id, p_tenant_name);
  INSERT INTO memberships (tenant_id, user_id, role) VALUES (tenant_id, user_id, 'owner');
  api_key_id := gen_random_uuid();
  INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, role)
  VALUES (api_key_id, tenant_id, user_id, 'owner key', p_key_prefix, p_key_hash, 'owner');
END
$$;
-- +goose StatementEnd

-- aias_api_key_lookup(key_hash)
--   Resolves a presented API key before the tenant is known. Returns one row
--   (id, tenant_id, role) for an unrevoked key of an active tenant, or nothing.
--   Records last use at most once a minute per key.
-- +goose StatementBegin
CREATE FUNCTION aias_api_key_lookup(p_key_hash bytea)
RETURNS TABLE (id uuid, tenant_id uuid, role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE api_keys k SET last_used_at = now()
   WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
     AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
  RETURN QUERY
  SELECT k.id, k.tenant_id, k.role
    FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
   WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND t.status = 'active';
END
$$;
-- +goose StatementEnd

-- aias_sweep_candidates(queued_grace, running_stale, after_updated, after_id, max_rows)
--   For the scheduler, which serves every tenant: unfinished runs that may be
--   missing from the queue, in (updated_at, id) order after the given key, so
--   successive sweeps walk the whole set instead of re-reading its head.
--   Returns only ids, tenant ids, status and the sort key; no payload.
-- +goose StatementBegin
CREATE FUNCTION aias_sweep_candidates(p_queued_grace interval, p_running_stale interval,
                                      p_after_updated timestamptz, p_after_id uuid, p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid, status text, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id, r.status, r.updated_at
    FROM runs r
   WHERE r.status IN ('queued', 'running')
     AND ((r.status = 'queued'  AND greatest(r.updated_at, r.next_attempt_at) < now() - p_queued_grace)
       OR (r.status = 'running' AND r.updated_at < now() - p_running_stale))
     AND (r.updated_at, r.id) > (p_after_updated, p_after_id)
   ORDER BY r.updated_at, r.id
   LIMIT p_limit
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION aias_signup(text, text, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_api_key_lookup(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_sweep_candidates(interval, interval, timestamptz, uuid, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_signup(text, text, bytea, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_api_key_lookup(bytea) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_sweep_candidates(interval, interval, timestamptz, uuid, int) TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_sweep_candidates(interval, interval, timestamptz, uuid, int);
DROP FUNCTION IF EXISTS aias_api_key_lookup(bytea);
DROP FUNCTION IF EXISTS aias_signup(text, text, bytea, text);
DROP TABLE IF EXISTS artifacts, run_steps, runs, webhook_endpoints, workflow_versions,
    workflows, api_keys, memberships, users, tenants;
