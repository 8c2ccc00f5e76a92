-- +goose Up
-- Retention: finished runs (with their steps and artifacts) and rejection
-- log rows older than the plan's retention_days are deleted in batches.

GRANT DELETE ON runs, webhook_rejections TO aias_app;
CREATE INDEX runs_tenant_finished ON runs (tenant_id, finished_at) WHERE finished_at IS NOT NULL;

-- aias_tenant_plans()
--   For the scheduler, which serves every tenant: each tenant's id and plan
--   name, nothing else.
-- +goose StatementBegin
CREATE FUNCTION aias_tenant_plans()
RETURNS TABLE (tenant_id uuid, plan text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.plan FROM tenants t
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION aias_tenant_plans() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_tenant_plans() TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_tenant_plans();
DROP INDEX IF EXISTS runs_tenant_finished;
REVOKE DELETE ON runs, webhook_rejections FROM aias_app;
