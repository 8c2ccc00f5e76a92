-- aias_write_step(tenant, run, attempt, heartbeat, position, name, type,
--                 status, output, error, logs, started_at, finished_at,
--                 duration_ms, counted)
--   Upserts a step record of the run, never overwriting a succeeded one,
--   and returns the step's failed tries (counted adds one). With heartbeat
--   it first locks the run's row and writes nothing when the run is no
--   longer this attempt's to write (canceled, finished, or claimed again by
--   a newer delivery): running = false. The lock is held until the record
--   commits, so a concurrent claim or cancel waits for it. The run's
--   progress (updated_at, which the scheduler's sweep reads) is recorded
--   only when it is over two seconds old: every UPDATE of updated_at is a
--   new row version with an entry in each of the runs table's indexes, and
--   a run of quick steps would otherwise pay that once per step.
--   Called by run.writeStep (internal/run/steps.go).
CREATE OR REPLACE FUNCTION aias_write_step(p_tenant uuid, p_run uuid, p_attempt int, p_heartbeat boolean,
                                p_position int, p_name text, p_type text, p_status text, p_output jsonb,
                                p_error text, p_logs jsonb, p_started_at timestamptz, p_finished_at timestamptz,
                                p_duration_ms bigint, p_counted boolean)
RETURNS TABLE (running boolean, tries int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  step_tries int;
  last_progress timestamptz;
BEGIN
  PERFORM aias_scope(p_tenant);
  IF p_heartbeat THEN
    SELECT r.updated_at INTO last_progress FROM runs r
     WHERE r.id = p_run AND r.tenant_id = p_tenant AND r.status = 'running' AND r.attempt = p_attempt
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
      RETURN QUERY SELECT false, 0;
      RETURN;
    END IF;
    IF last_progress < now() - interval '2 seconds' THEN
      UPDATE runs SET updated_at = now() WHERE id = p_run AND tenant_id = p_tenant;
    END IF;
  END IF;
  INSERT INTO run_steps AS s (tenant_id, run_id, position, name, type, status, attempt, output, error, logs,
                              started_at, finished_at, duration_ms, tries)
  VALUES (p_tenant, p_run, p_position, p_name, p_type, p_status, p_attempt, p_output, p_error, p_logs,
          p_started_at, p_finished_at, p_duration_ms, CASE WHEN p_counted THEN 1 ELSE 0 END)
  ON CONFLICT (run_id, position) DO UPDATE
     SET status = EXCLUDED.status, attempt = EXCLUDED.attempt, output = EXCLUDED.output,
         error = EXCLUDED.error, logs = EXCLUDED.logs, started_at = EXCLUDED.started_at,
         finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms,
         tries = s.tries + EXCLUDED.tries
   WHERE s.status <> 'succeeded' AND s.tenant_id = p_tenant
  RETURNING s.tries INTO step_tries;
  RETURN QUERY SELECT true, coalesce(step_tries, 0);
END
$$;
