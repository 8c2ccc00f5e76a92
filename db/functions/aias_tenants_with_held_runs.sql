-- aias_tenants_with_held_runs()
--   For the scheduler, which serves every tenant: the tenants that have held
--   runs, with their plan name. Returns nothing else.
CREATE OR REPLACE FUNCTION aias_tenants_with_held_runs()
RETURNS TABLE (tenant_id uuid, plan text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.plan FROM tenants t
   WHERE EXISTS (SELECT 1 FROM runs r WHERE r.tenant_id = t.id AND r.status = 'held')
$$;
