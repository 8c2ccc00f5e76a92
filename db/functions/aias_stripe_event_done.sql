-- aias_stripe_event_done(id, applied, error)
--   Marks an event recorded by this same transaction (aias_stripe_event_record
--   just before) with whether it changed the tenant's billing state and why
--   not (error, NULL when there is nothing to say). The tenant it is filed
--   under is the one the transaction is scoped to (app.tenant_id), when that
--   tenant exists, else none. Any other event, recorded earlier or by
--   another transaction, is refused (insufficient_privilege): a handled
--   event cannot be re-tagged. Returns nothing. Called by the Stripe webhook
--   as aias_app.
CREATE OR REPLACE FUNCTION aias_stripe_event_done(p_id text, p_applied boolean, p_error text)
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
