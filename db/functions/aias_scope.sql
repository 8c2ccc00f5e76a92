-- aias_scope(tenant)
--   Scopes the current transaction to tenant, as postgres.DB.InTenantTx
--   does (the setting ends with the transaction). A transaction already
--   scoped to another tenant is refused, so a function that scopes itself
--   cannot be used to step out of a caller's tenant.
CREATE OR REPLACE FUNCTION aias_scope(p_tenant uuid)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  current_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS DISTINCT FROM p_tenant AND current_tenant IS NOT NULL THEN
    RAISE EXCEPTION 'aias_scope: the transaction belongs to another tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
END
$$;
