-- +goose Up
-- Signed senders: encrypted signing secrets per endpoint (several during a
-- rotation's grace period) and a per-endpoint log of rejected deliveries.

-- endpoint_secrets: one row per signing secret of an endpoint. The secret is
-- sealed with the operator's key-encryption keys (internal/keyring), bound by
-- its additional data to tenant, endpoint and row id, so a ciphertext copied
-- into another row does not open. expires_at NULL means current; a rotated-out
-- secret keeps verifying until expires_at.
CREATE TABLE endpoint_secrets (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id  uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    ciphertext   bytea NOT NULL,
    key_id       text NOT NULL,            -- which key-encryption key wraps it (for rewrap)
    hint         text NOT NULL DEFAULT '', -- last 4 characters, to tell secrets apart
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);
CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id, created_at);

-- webhook_rejections: why a delivery to a known endpoint was refused. The
-- sender only ever sees one generic answer; the tenant sees the reason here.
-- Nothing secret is stored: no signature values, no body.
CREATE TABLE webhook_rejections (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id  uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    reason       text NOT NULL,
    detail       text NOT NULL DEFAULT '',
    request_id   text NOT NULL DEFAULT '',
    source_ip    text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_rejections_endpoint ON webhook_rejections (endpoint_id, created_at DESC, id DESC);

-- A rotated URL token keeps working until previous_token_expires_at.
ALTER TABLE webhook_endpoints
    ADD COLUMN previous_token_hash bytea,
    ADD COLUMN previous_token_expires_at timestamptz;
CREATE INDEX webhook_endpoints_previous_token ON webhook_endpoints (previous_token_hash) WHERE previous_token_hash IS NOT NULL;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['endpoint_secrets', 'webhook_rejections'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
        USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT ON endpoint_secrets TO aias_app;
GRANT UPDATE (expires_at) ON endpoint_secrets TO aias_app;
GRANT SELECT, INSERT ON webhook_rejections TO aias_app;

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN IF EXISTS previous_token_hash, DROP COLUMN IF EXISTS previous_token_expires_at;
DROP TABLE IF EXISTS webhook_rejections, endpoint_secrets;
