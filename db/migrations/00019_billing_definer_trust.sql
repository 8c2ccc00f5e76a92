-- +goose Up
-- Billing's SECURITY DEFINER functions stop trusting their arguments.
--
-- These functions run as the schema owner, which sees every tenant, so
-- anything they take from the caller is taken from whoever holds the
-- application role. Before this migration a caller could:
--   * pass a "now" years ahead to aias_billing_expire_grace and end every
--     tenant's grace at once, and name the plan those tenants dropped to
--     (business for everyone in grace);
--   * re-tag any recorded Stripe event with aias_stripe_event_done (another
--     tenant, applied or not, any reason), long after it was handled;
--   * record a Stripe event whose stored id, type or time differ from its
--     payload with aias_stripe_event_record;
--   * store any text as a tenant's plan with aias_set_plan.
-- Now the time is Postgres's clock, the plan a tenant drops to is the one a
-- new tenant gets (the column default of tenants.plan), an event is marked
-- only by the transaction that recorded it and only for the tenant that
-- transaction is scoped to, its id, type, API version and time are read
-- from its own payload, and a plan name must look like one.
--
-- Ending Stripe subscriptions follows Stripe's lifecycle from this release
-- on: customer.subscription.deleted (status canceled) drops the tenant to
-- the default plan at once, where it used to keep the plan until the period
-- end through grace_until. Subscriptions already canceled that way end their
-- grace now, so the next grace sweep applies the same rule to them.

-- aias_billing_expire_grace()
--   For the scheduler, which serves every tenant: every tenant whose
--   grace_until is at or before Postgres's now() drops to the default plan
--   (the column default of tenants.plan, the plan a new tenant starts on;
--   a name the operator's catalogue lacks resolves to its default) and its
--   grace ends. Returns the tenant ids changed. Called as aias_app by
--   billing.Service.ExpireGrace. It takes no argument: neither the time nor
--   the plan can come from the caller.
-- +goose StatementBegin
CREATE FUNCTION aias_billing_expire_grace()
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
-- +goose StatementEnd

-- aias_stripe_event_record(payload)
--   Records a verified Stripe event, not yet applied, by the id, type,
--   api_version and created time read from the payload itself. Returns true
--   if the event is new, false if its id was recorded before (a redelivery,
--   which the caller answers as success without applying it again). A
--   payload without an id or a type, or whose created is not a number, is
--   refused (invalid_parameter_value). Called by the Stripe webhook
--   (internal/billing) as aias_app, in the transaction that applies the
--   event, so a failed application records nothing and Stripe's redelivery
--   tries again.
-- +goose StatementBegin
CREATE FUNCTION aias_stripe_event_record(p_payload jsonb)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_id      text := p_payload->>'id';
  v_type    text := p_payload->>'type';
  v_created text := p_payload->>'created';
BEGIN
  IF jsonb_typeof(p_payload) IS DISTINCT FROM 'object' OR coalesce(v_id, '') = '' OR coalesce(v_type, '') = ''
     OR v_created IS NULL OR v_created !~ '^[0-9]{1,12}$' THEN
    RAISE EXCEPTION 'aias_stripe_event_record: the payload is not a Stripe event'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO stripe_events (id, type, api_version, created, payload)
  VALUES (v_id, v_type, coalesce(p_payload->>'api_version', ''), to_timestamp(v_created::bigint), p_payload)
  ON CONFLICT (id) DO NOTHING;
  RETURN FOUND;
END
$$;
-- +goose StatementEnd

-- aias_stripe_event_done(id, applied, error)
--   Marks an event recorded by this same transaction (aias_stripe_event_record
--   just before) with whether it changed the tenant's billing state and why
--   not (error, NULL when there is nothing to say). The tenant it is filed
--   under is the one the transaction is scoped to (app.tenant_id), when that
--   tenant exists, else none. Any other event, recorded earlier or by
--   another transaction, is refused (insufficient_privilege): a handled
--   event cannot be re-tagged. Returns nothing. Called by the Stripe webhook
--   as aias_app.
-- +goose StatementBegin
CREATE FUNCTION aias_stripe_event_done(p_id text, p_applied boolean, p_error text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE stripe_events e
     SET tenant_id = (SELECT t.id FROM tenants t
                       WHERE t.id = nullif(current_setting('app.tenant_id', true), '')::uuid),
         applied = p_applied, error = p_error
   WHERE e.id = p_id AND e.xmin = pg_current_xact_id()::xid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'aias_stripe_event_done: event % was not recorded by this transaction', p_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;
-- +goose StatementEnd

-- aias_set_plan(tenant_id, plan)
--   As in 00004 (the transaction's own tenant only), and the plan must be a
--   plan name ([a-z0-9-]{1,32}, what internal/plan accepts): anything else
--   raises invalid_parameter_value. Which names exist is the operator's
--   catalogue, which the database does not know; a name it lacks resolves
--   to the catalogue's default.
-- +goose StatementBegin
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
-- +goose StatementEnd

DROP FUNCTION aias_billing_expire_grace(timestamptz, text);
DROP FUNCTION aias_stripe_event_record(text, text, text, timestamptz, jsonb);
DROP FUNCTION aias_stripe_event_done(text, uuid, boolean, text);

REVOKE ALL ON FUNCTION aias_billing_expire_grace() FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_stripe_event_record(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_stripe_event_done(text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_billing_expire_grace() TO aias_app;
GRANT EXECUTE ON FUNCTION aias_stripe_event_record(jsonb) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_stripe_event_done(text, boolean, text) TO aias_app;

UPDATE subscriptions SET grace_until = now(), updated_at = now()
 WHERE status = 'canceled' AND grace_until > now();

-- +goose Down
DROP FUNCTION IF EXISTS aias_billing_expire_grace();
DROP FUNCTION IF EXISTS aias_stripe_event_record(jsonb);
DROP FUNCTION IF EXISTS aias_stripe_event_done(text, boolean, text);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION aias_set_plan(p_tenant_id uuid, p_plan text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'aias_set_plan: tenant % is not the transaction''s tenant', p_tenant_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE tenants SET plan = p_plan WHERE id = p_tenant_id AND plan IS DISTINCT FROM p_plan;
  RETURN FOUND;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION aias_stripe_event_record(p_id text, p_type text, p_api_version text,
                                         p_created timestamptz, p_payload jsonb)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO stripe_events (id, type, api_version, created, payload)
  VALUES (p_id, p_type, coalesce(p_api_version, ''), p_created, p_payload)
  ON CONFLICT (id) DO NOTHING;
  RETURN FOUND;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION aias_stripe_event_done(p_id text, p_tenant_id uuid, p_applied boolean, p_error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE stripe_events SET tenant_id = p_tenant_id, applied = p_applied, error = p_error
   WHERE id = p_id
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION aias_billing_expire_grace(p_now timestamptz, p_default_plan text)
RETURNS SETOF uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY
  WITH expired AS (
    UPDATE subscriptions s SET grace_until = NULL, updated_at = now()
     WHERE s.grace_until IS NOT NULL AND s.grace_until <= p_now
    RETURNING s.tenant_id
  ), moved AS (
    UPDATE tenants t SET plan = p_default_plan
      FROM expired e WHERE t.id = e.tenant_id
    RETURNING t.id
  )
  SELECT e.tenant_id FROM expired e;
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION aias_stripe_event_record(text, text, text, timestamptz, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_stripe_event_done(text, uuid, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_billing_expire_grace(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_stripe_event_record(text, text, text, timestamptz, jsonb) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_stripe_event_done(text, uuid, boolean, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_billing_expire_grace(timestamptz, text) TO aias_app;
