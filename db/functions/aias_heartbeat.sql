-- aias_heartbeat(tenant, run, attempt)
--   Records that a long step of the run is still going (updated_at, which
--   the scheduler's sweep reads) and answers whether the run is still this
--   attempt's: false when it was canceled, finished or claimed again by a
--   newer delivery, and the worker then stops the step. One round trip
--   instead of a tenant transaction's four, every 2 s of every step that
--   runs longer. Called by the executor's watch (internal/run/watch.go).
CREATE OR REPLACE FUNCTION aias_heartbeat(p_tenant uuid, p_run uuid, p_attempt int) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM aias_scope(p_tenant);
  UPDATE runs SET updated_at = now() WHERE id = p_run AND tenant_id = p_tenant AND status = 'running' AND attempt = p_attempt;
  RETURN FOUND;
END
$$;
