-- aias_set_run_key(tenant, run, attempt, key)
--   Records the key the worker computed for a run it claimed (attempt) while
--   the key was pending; a NULL key means the run has none. Answers:
--     'set'  the key is recorded and it is the run's turn: go on;
--     'wait' the key is recorded, but an earlier run of the key (or one whose
--            key is pending) is unfinished: the claim is handed back (queued,
--            its attempt given back, started_at cleared: no step has run)
--            and the task waits;
--     'none' the key was not pending (computed before, possibly as no key);
--     'gone' the run is no longer this attempt's (canceled, taken over).
--   Called by run.Executor.resolveKey (internal/run/order.go).
CREATE OR REPLACE FUNCTION aias_set_run_key(p_tenant uuid, p_run uuid, p_attempt int, p_key text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_workflow uuid;
  v_seq bigint;
  v_pending boolean;
BEGIN
  PERFORM aias_scope(p_tenant);
  SELECT r.workflow_id, r.seq, r.key_pending INTO v_workflow, v_seq, v_pending
    FROM runs r WHERE r.id = p_run AND r.tenant_id = p_tenant AND r.attempt = p_attempt AND r.status = 'running'
     FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'gone';
  END IF;
  IF NOT v_pending THEN
    RETURN 'none';
  END IF;
  UPDATE runs SET concurrency_key = p_key, key_pending = false, updated_at = now() WHERE id = p_run AND tenant_id = p_tenant;
  IF p_key IS NULL OR NOT aias_predecessor_unfinished(v_workflow, p_key, v_seq) THEN
    RETURN 'set';
  END IF;
  UPDATE runs SET status = 'queued', attempt = attempt - 1, started_at = NULL, updated_at = now() WHERE id = p_run AND tenant_id = p_tenant;
  RETURN 'wait';
END
$$;
