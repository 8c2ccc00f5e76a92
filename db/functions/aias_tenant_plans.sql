-- aias_tenant_plans()
--   For the scheduler, which serves every tenant: each tenant's id and plan
--   name, nothing else.
CREATE OR REPLACE FUNCTION aias_tenant_plans()
RETURNS TABLE (tenant_id uuid, plan text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.plan FROM tenants t
$$;
