-- aias_set_plan(tenant_id, plan)
--   Sets tenants.plan of the tenant the transaction is scoped to
--   (app.tenant_id, set by postgres.DB.InTenantTx); any other tenant_id, or
--   none set, raises insufficient_privilege. Returns true if the plan
--   changed. The plan must be a plan name ([a-z0-9-]{1,32}, what
--   internal/plan accepts): anything else raises invalid_parameter_value.
--   Which names exist is the operator's catalogue, which the database does
--   not know; a name it lacks resolves to the catalogue's default. Called as
--   aias_app by the Stripe webhook (internal/billing).
CREATE OR REPLACE FUNCTION aias_set_plan(p_tenant_id uuid, p_plan text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'aias_set_plan: tenant % is not the transaction''s tenant', p_tenant_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_plan IS NULL OR p_plan !~ '^[a-z0-9-]{1,32}$' THEN
    RAISE EXCEPTION 'aias_set_plan: % is not a plan name', p_plan
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE tenants SET plan = p_plan WHERE id = p_tenant_id AND plan IS DISTINCT FROM p_plan;
  RETURN FOUND;
END
$$;
