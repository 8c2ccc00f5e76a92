-- +goose Up
-- Integration secrets and the audit log.

-- tenant_secrets: write-only values workflows use in http steps. Sealed like
-- endpoint secrets (internal/keyring), bound by additional data to tenant and
-- name, so a ciphertext moved to another row or tenant does not open.
CREATE TABLE tenant_secrets (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
    ciphertext   bytea NOT NULL,
    key_id       text NOT NULL,
    hint         text NOT NULL DEFAULT '',   -- last 4 characters, for recognition
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);

-- audit_log: who (which key) did what to which object.
CREATE TABLE audit_log (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    actor_key_id uuid,                        -- NULL: the operator (CLI)
    action       text NOT NULL,               -- e.g. workflow.create
    object_type  text NOT NULL,
    object_id    text NOT NULL,
    request_id   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_created ON audit_log (tenant_id, created_at DESC, id DESC);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_secrets', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
        USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_secrets TO aias_app;
GRANT SELECT, INSERT ON audit_log TO aias_app;

-- +goose Down
DROP TABLE IF EXISTS audit_log, tenant_secrets;
