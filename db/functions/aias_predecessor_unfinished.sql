-- aias_predecessor_unfinished(workflow, key, seq)
--   Whether a run of the same workflow that arrived earlier (lower seq) is
--   unfinished and has the same concurrency key, or a key not yet computed:
--   the run with seq must wait for it. Inlined where it is used; row-level
--   security applies as the caller.
CREATE OR REPLACE FUNCTION aias_predecessor_unfinished(p_workflow_id uuid, p_key text, p_seq bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM runs p
     WHERE p.workflow_id = p_workflow_id AND p.concurrency_key = p_key
       AND p.seq < p_seq AND p.status IN ('held', 'queued', 'delayed', 'running'))
  OR EXISTS (
    SELECT 1 FROM runs p
     WHERE p.workflow_id = p_workflow_id AND p.key_pending
       AND p.seq < p_seq AND p.status IN ('held', 'queued', 'delayed', 'running'))
$$;
