-- +goose Up
-- The artifact bytes a tenant stored this period, which every artifact step
-- checks against its plan (internal/run/execute.go, artifactRoom) and the
-- usage endpoint reports: an index-only range scan of the tenant's period
-- instead of a scan of every tenant's artifacts filtered by row-level
-- security, whose cost grew with the table through the month.
CREATE INDEX artifacts_tenant_created ON artifacts (tenant_id, created_at) INCLUDE (size_bytes);

-- +goose Down
DROP INDEX IF EXISTS artifacts_tenant_created;
