-- aias_finish_run(tenant, run, attempt, status, error)
--   Moves the run from this attempt's running to a terminal status and
--   returns whether its on_finish notification is now pending (the
--   runs_callback_due trigger marks it in this very write). No row: the run
--   is no longer this attempt's (another delivery owns it and finishes it).
--   Called by run.Executor.finish (internal/run/execute.go).
CREATE OR REPLACE FUNCTION aias_finish_run(p_tenant uuid, p_run uuid, p_attempt int, p_status text, p_error text)
RETURNS TABLE (notify boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM aias_scope(p_tenant);
  RETURN QUERY
  UPDATE runs SET status = p_status, error = p_error, finished_at = now(), updated_at = now(), next_attempt_at = NULL
   WHERE id = p_run AND tenant_id = p_tenant AND status = 'running' AND attempt = p_attempt
  RETURNING coalesce(callback_state = 'pending', false);
END
$$;
