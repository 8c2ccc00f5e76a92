-- +goose Up
-- Artifacts are written in pieces of at most 64 KiB (internal/artifact):
-- the first piece in artifacts.content, the rest here in order. lib/pq sends
-- a bytea parameter hex-encoded in one message, so one parameter of the
-- whole artifact cost four times its size in the worker while it was sent;
-- a piece bounds that to a few hundred KiB whatever the artifact's size.
-- Artifacts written before this migration keep every byte in content, and
-- are read the same way: content first, then chunks, until size_bytes.
CREATE TABLE artifact_chunks (
    artifact_id uuid NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    seq         int  NOT NULL CHECK (seq > 0),
    tenant_id   uuid NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (artifact_id, seq)
);

ALTER TABLE artifact_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE artifact_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON artifact_chunks
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT ON artifact_chunks TO aias_app;
-- A redrive on the workflow's current version deletes the artifacts of the
-- steps it forgets (internal/run, forgetFrom); the grant was missing, so
-- such a redrive was refused by Postgres and retried without end.
GRANT DELETE ON artifacts TO aias_app;

-- +goose Down
REVOKE DELETE ON artifacts FROM aias_app;
DROP TABLE IF EXISTS artifact_chunks;
