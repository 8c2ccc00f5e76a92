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
CREATE OR REPLACE FUNCTION aias_stripe_event_record(p_payload jsonb)
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
