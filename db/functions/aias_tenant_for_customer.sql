-- aias_tenant_for_customer(customer_id)
--   The tenant whose subscription row holds Stripe customer customer_id, or
--   NULL. Returns only the tenant id. Called by the Stripe webhook as
--   aias_app before the tenant is known (subscription and invoice events
--   name the customer, not the tenant).
CREATE OR REPLACE FUNCTION aias_tenant_for_customer(p_customer_id text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.tenant_id FROM subscriptions s WHERE s.stripe_customer_id = p_customer_id
$$;
