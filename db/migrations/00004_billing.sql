-- +goose Up
-- Billing: each tenant's Stripe subscription and the log of Stripe events.
--
-- Stripe tells AIAS about payments through signed webhook events
-- (internal/billing). Every event is recorded once in stripe_events, whatever
-- its type, and then applied to the tenant's subscriptions row and plan.
-- Events are applied in the order of the subscription's state: an event
-- older (by Stripe's `created`) than the newest one already applied to the
-- tenant is recorded, not applied.

-- subscriptions: one row per tenant that ever started a Checkout or has a
-- Stripe subscription. status is Stripe's subscription status; grace_until,
-- when set, is the moment a past-due tenant drops to the default plan
-- (aias_billing_expire_grace). last_event_created is the `created` of the
-- newest event applied to this row.
CREATE TABLE subscriptions (
    tenant_id               uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    stripe_customer_id      text NOT NULL UNIQUE,
    stripe_subscription_id  text UNIQUE,
    price_id                text NOT NULL DEFAULT '',
    status                  text NOT NULL DEFAULT 'incomplete' CHECK (status IN (
                                'active', 'trialing', 'past_due', 'unpaid', 'canceled',
                                'incomplete', 'incomplete_expired', 'paused')),
    current_period_end      timestamptz,
    grace_until             timestamptz,
    last_event_created      timestamptz,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_grace ON subscriptions (grace_until) WHERE grace_until IS NOT NULL;

-- stripe_events: every verified Stripe event, by Stripe's event id, so a
-- redelivery is recognised and applied at most once. It precedes knowing the
-- tenant, so the programs never read or write it directly: only through the
-- SECURITY DEFINER functions below. It still carries the standard tenant
-- policy (forced), like every table with a tenant_id; the functions run as
-- the schema owner, which bypasses row-level security (docs/data.md).
-- applied is false for unknown types, stale (out-of-order) events and events
-- that could not be applied (error says why).
CREATE TABLE stripe_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    api_version  text NOT NULL DEFAULT '',
    tenant_id    uuid REFERENCES tenants (id) ON DELETE SET NULL,
    created      timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    applied      boolean NOT NULL DEFAULT false,
    payload      jsonb NOT NULL,
    error        text
);
CREATE INDEX stripe_events_tenant ON stripe_events (tenant_id, created) WHERE tenant_id IS NOT NULL;
CREATE INDEX stripe_events_received ON stripe_events (received_at);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['subscriptions', 'stripe_events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
        USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The app role reads and writes its tenant's subscription under RLS, in a
-- tenant transaction (postgres.DB.InTenantTx). It has no UPDATE on tenants:
-- the plan changes through aias_set_plan below, in the same transaction.
-- stripe_events: no grant at all.
GRANT SELECT, INSERT, UPDATE ON subscriptions TO aias_app;

-- aias_stripe_event_record(id, type, api_version, created, payload)
--   Records a verified Stripe event, not yet applied. Returns true if the
--   event is new, false if its id was recorded before (a redelivery, which
--   the caller answers as success without applying it again). Called by the
--   Stripe webhook (internal/billing) as aias_app, in the transaction that
--   applies the event, so a failed application records nothing and Stripe's
--   redelivery tries again.
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

-- aias_stripe_event_done(id, tenant_id, applied, error)
--   Marks a recorded event with the tenant it concerns (NULL: none found),
--   whether it changed the tenant's billing state, and why not (error, NULL
--   when there is nothing to say). Returns nothing. Called by the Stripe
--   webhook as aias_app, after aias_stripe_event_record in the same
--   transaction.
-- +goose StatementBegin
CREATE FUNCTION aias_stripe_event_done(p_id text, p_tenant_id uuid, p_applied boolean, p_error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE stripe_events SET tenant_id = p_tenant_id, applied = p_applied, error = p_error
   WHERE id = p_id
$$;
-- +goose StatementEnd

-- aias_tenant_for_customer(customer_id)
--   The tenant whose subscription row holds Stripe customer customer_id, or
--   NULL. Returns only the tenant id. Called by the Stripe webhook as
--   aias_app before the tenant is known (subscription and invoice events
--   name the customer, not the tenant).
-- +goose StatementBegin
CREATE FUNCTION aias_tenant_for_customer(p_customer_id text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.tenant_id FROM subscriptions s WHERE s.stripe_customer_id = p_customer_id
$$;
-- +goose StatementEnd

-- aias_set_plan(tenant_id, plan)
--   Sets tenants.plan of the tenant the transaction is scoped to
--   (app.tenant_id, set by postgres.DB.InTenantTx); any other tenant_id, or
--   none set, raises insufficient_privilege. Returns true if the plan
--   changed. The plan name is the catalogue's (internal/plan), which the
--   database does not know. Called as aias_app by the Stripe webhook
--   (internal/billing) when a subscription event changes the tenant's plan.
-- +goose StatementBegin
CREATE FUNCTION aias_set_plan(p_tenant_id uuid, p_plan text)
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

-- aias_billing_expire_grace(now, default_plan)
--   For the scheduler, which serves every tenant: every tenant whose
--   grace_until is before now drops to default_plan (the catalogue's default,
--   which the database does not know) and its grace ends. Returns the tenant
--   ids changed. Called as aias_app by billing.Service.ExpireGrace; the clock
--   is a parameter so tests can move it. The caller can only ever move a
--   past-due tenant to the plan it names earlier than due; it cannot read
--   anything but the ids.
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
REVOKE ALL ON FUNCTION aias_tenant_for_customer(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_set_plan(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aias_billing_expire_grace(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aias_stripe_event_record(text, text, text, timestamptz, jsonb) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_stripe_event_done(text, uuid, boolean, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_tenant_for_customer(text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_set_plan(uuid, text) TO aias_app;
GRANT EXECUTE ON FUNCTION aias_billing_expire_grace(timestamptz, text) TO aias_app;

-- +goose Down
DROP FUNCTION IF EXISTS aias_billing_expire_grace(timestamptz, text);
DROP FUNCTION IF EXISTS aias_set_plan(uuid, text);
DROP FUNCTION IF EXISTS aias_tenant_for_customer(text);
DROP FUNCTION IF EXISTS aias_stripe_event_done(text, uuid, boolean, text);
DROP FUNCTION IF EXISTS aias_stripe_event_record(text, text, text, timestamptz, jsonb);
DROP TABLE IF EXISTS stripe_events, subscriptions;
