-- aias_write_artifact_step(<the arguments of aias_write_step>, artifact id,
--                          name, content type, size, sha256, content)
--   An artifact step's commit in one round trip instead of a tenant
--   transaction's five (BEGIN, the tenant setting, the step record, the
--   artifact, COMMIT): the step record as aias_write_step writes it (with
--   the heartbeat: the run's row is locked, and nothing is written when the
--   run is no longer this attempt's), then the artifact, whose bytes all fit
--   in its row (at most one 64 KiB piece: see 00015). A retried step that
--   writes the same name again keeps the first copy. Returns what
--   aias_write_step returns. Larger artifacts, several artifacts or a delay
--   still take a transaction (internal/run, commitStep).
CREATE OR REPLACE FUNCTION aias_write_artifact_step(p_tenant uuid, p_run uuid, p_attempt int,
                                         p_position int, p_name text, p_type text, p_status text, p_output jsonb,
                                         p_error text, p_logs jsonb, p_started_at timestamptz, p_finished_at timestamptz,
                                         p_duration_ms bigint,
                                         p_artifact uuid, p_artifact_name text, p_content_type text,
                                         p_size bigint, p_sha256 text, p_content bytea)
RETURNS TABLE (running boolean, tries int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  w record;
BEGIN
  SELECT * INTO w FROM aias_write_step(p_tenant, p_run, p_attempt, true, p_position, p_name, p_type, p_status,
                                       p_output, p_error, p_logs, p_started_at, p_finished_at, p_duration_ms, false);
  IF w.running THEN
    INSERT INTO artifacts (id, tenant_id, run_id, step_position, name, content_type, size_bytes, sha256, content)
    VALUES (p_artifact, p_tenant, p_run, p_position, p_artifact_name, p_content_type, p_size, p_sha256, p_content)
    ON CONFLICT (run_id, step_position, name) DO NOTHING;
  END IF;
  RETURN QUERY SELECT w.running, w.tries;
END
$$;
