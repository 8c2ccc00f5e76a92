-- aias_billing_expire_grace()
--   For the scheduler, which serves every tenant: every tenant whose
--   grace_until is at or before Postgres's now() drops to the default plan
--   (the column default of tenants.plan, the plan a new tenant starts on;
--   a name the operator's catalogue lacks resolves to its default) and its
--   grace ends. Returns the tenant ids changed. Called as aias_app by
--   billing.Service.ExpireGrace. It takes no argument: neither the time nor
--   the plan can come from the caller.
CREATE OR REPLACE FUNCTION aias_billing_expire_grace()
RETURNS SETOF uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY
  WITH expired AS (
    UPDATE subscriptions s SET grace_until = NULL, updated_at = now()
     WHERE s.grace_until IS NOT NULL AND s.grace_until <= now()
    RETURNING s.tenant_id
  ), moved AS (
    UPDATE tenants t SET plan = DEFAULT
      FROM expired e WHERE t.id = e.tenant_id
    RETURNING t.id
  )
  SELECT e.tenant_id FROM expired e;
END
$$;
