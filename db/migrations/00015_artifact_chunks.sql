-- +goose Up
-- Artifacts are written in pieces of at most 64 KiB (internal/artifact):
-- the first piece in artifacts.content, the rest here in order. lib/pq sends
-- a bytea parameter hex-encoded in one message, so one parameter of the
-- whole artifact cost four times its size in the worker while it was sent;
-- a piece bounds that to a few hundred KiB whatever the artifact's size.
-- Artifacts written before this migration keep every byte in content, and
-- are read the same way: content first, then chunks, until size_bytes.
-- A chunk belongs to its artifact's tenant: the foreign key includes the
-- tenant (foreign-key checks do not see row-level security, so a key on the
-- id alone would accept another tenant's artifact).
ALTER TABLE artifacts ADD CONSTRAINT artifacts_id_tenant UNIQUE (id, tenant_id);
CREATE TABLE artifact_chunks (
    artifact_id uuid NOT NULL,
    seq         int  NOT NULL CHECK (seq > 0),
    tenant_id   uuid NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (artifact_id, seq),
    FOREIGN KEY (artifact_id, tenant_id) REFERENCES artifacts (id, tenant_id) ON DELETE CASCADE
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
-- Back to whole rows: every artifact's pieces are put back into its content
-- first, so going down loses no byte.
UPDATE artifacts a
   SET content = a.content || (SELECT string_agg(c.data, ''::bytea ORDER BY c.seq)
                                 FROM artifact_chunks c WHERE c.artifact_id = a.id)
 WHERE EXISTS (SELECT 1 FROM artifact_chunks c WHERE c.artifact_id = a.id);
REVOKE DELETE ON artifacts FROM aias_app;
DROP TABLE IF EXISTS artifact_chunks;
ALTER TABLE artifacts DROP CONSTRAINT IF EXISTS artifacts_id_tenant;
