-- +goose Up
-- Signed callbacks: each tenant's callback signing secret, and the durable
-- state of each run's on_finish notification.

-- callback_secrets: the secrets that sign a tenant's callback steps and
-- on_finish notifications (Standard Webhooks). Sealed like endpoint secrets
-- (internal/keyring), bound by additional data to tenant and row id, so a
-- ciphertext copied into another row or tenant does not open. expires_at
-- NULL is the current secret (at most one per tenant); a rotated-out secret
-- keeps signing alongside the current one until expires_at.
CREATE TABLE callback_secrets (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ciphertext   bytea NOT NULL,
    key_id       text NOT NULL,            -- which key-encryption key wraps it (for rewrap)
    hint         text NOT NULL DEFAULT '', -- last 4 characters, to tell secrets apart
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);
CREATE INDEX callback_secrets_tenant ON callback_secrets (tenant_id, created_at DESC);
CREATE UNIQUE INDEX callback_secrets_current ON callback_secrets (tenant_id) WHERE expires_at IS NULL;

-- +goose StatementBegin
DO $$
BEGIN
  ALTER TABLE callback_secrets ENABLE ROW LEVEL SECURITY;
  ALTER TABLE callback_secrets FORCE ROW LEVEL SECURITY;
  CREATE POLICY tenant_isolation ON callback_secrets
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, DELETE ON callback_secrets TO aias_app;
GRANT UPDATE (expires_at) ON callback_secrets TO aias_app;

-- The on_finish notification of a run, kept on the run row so that it
-- survives a crash or a lost queue: callback_state is NULL (none asked for),
-- pending (to be delivered; the scheduler's sweep enqueues it when it is
-- missing from the queue), delivered or failed (attempts used up, or a
-- permanent refusal; callback_error says why). callback_attempts counts
-- delivery attempts; callback_next_at is when the next one is due.
ALTER TABLE runs
    ADD COLUMN callback_state text CHECK (callback_state IN ('pending', 'delivered', 'failed')),
    ADD COLUMN callback_attempts int NOT NULL DEFAULT 0,
    ADD COLUMN callback_error text,
    ADD COLUMN callback_next_at timestamptz;
CREATE INDEX runs_callback_pending ON runs (callback_next_at, id) WHERE callback_state = 'pending';

-- aias_runs_callback_due()
--   BEFORE UPDATE OF status trigger on runs. When a run enters a terminal
--   status (succeeded, failed, dead, canceled) from a non-terminal one and
--   its pinned definition has an on_finish block asking for that status (no
--   statuses: every terminal one), it marks the notification pending in the
--   same row write. Every way a run ends (the executor, the queue giving up,
--   a cancel) thus records the notification atomically with the outcome:
--   no crash between finishing and enqueueing can lose it. A re-driven run
--   that ends again is notified again.
--   Runs with the caller's rights: the version is read under the caller's
--   row-level security, i.e. the run's own tenant.
-- +goose StatementBegin
CREATE FUNCTION aias_runs_callback_due() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  terminal CONSTANT text[] := ARRAY['succeeded', 'failed', 'dead', 'canceled'];
  on_finish jsonb;
BEGIN
  IF NOT (NEW.status = ANY (terminal)) OR OLD.status = ANY (terminal) THEN
    RETURN NEW;
  END IF;
  SELECT v.definition -> 'on_finish' INTO on_finish
    FROM workflow_versions v
   WHERE v.workflow_id = NEW.workflow_id AND v.version = NEW.workflow_version;
  IF on_finish IS NULL OR jsonb_typeof(on_finish) <> 'object' THEN
    RETURN NEW;
  END IF;
  IF jsonb_typeof(on_finish -> 'statuses') = 'array' AND jsonb_array_length(on_finish -> 'statuses') > 0
     AND NOT (on_finish -> 'statuses') ? NEW.status THEN
    RETURN NEW;
  END IF;
  NEW.callback_state := 'pending';
  NEW.callback_attempts := 0;
  NEW.callback_error := NULL;
  NEW.callback_next_at := now();
  RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER runs_callback_due BEFORE UPDATE OF status ON runs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION aias_runs_callback_due();

-- aias_notify_candidates(limit)
--   For the scheduler, which serves every tenant: runs whose on_finish
--   notification is pending and due, oldest due first. Returns only ids and
--   tenant ids; the scheduler makes sure each has a run:notify task.
-- +goose StatementBegin
CREATE FUNCTION aias_notify_candidates(p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id
    FROM runs r
   WHERE r.callback_state = 'pending' AND r.callback_next_at <= now()
   ORDER BY r.callback_next_at, r.id
   LIMIT p_limit
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION aias_notify_candidates(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_notify_candidates(int) TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_notify_candidates(int);
DROP TRIGGER IF EXISTS runs_callback_due ON runs;
DROP FUNCTION IF EXISTS aias_runs_callback_due();
DROP INDEX IF EXISTS runs_callback_pending;
ALTER TABLE runs DROP COLUMN IF EXISTS callback_state, DROP COLUMN IF EXISTS callback_attempts,
    DROP COLUMN IF EXISTS callback_error, DROP COLUMN IF EXISTS callback_next_at;
DROP TABLE IF EXISTS callback_secrets;
