-- aias_sweep_candidates(queued_grace, running_stale, after_updated, after_id, max_rows)
--   For the scheduler, which serves every tenant: unfinished runs that may be
--   missing from the queue (queued or delayed past their due time and the
--   grace, running with no progress for running_stale), in (updated_at, id)
--   order after the given key, so successive sweeps walk the whole set
--   instead of re-reading its head. Returns only ids, tenant ids, status and
--   the sort key; no payload.
CREATE OR REPLACE FUNCTION aias_sweep_candidates(p_queued_grace interval, p_running_stale interval,
                                                 p_after_updated timestamptz, p_after_id uuid, p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid, status text, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id, r.status, r.updated_at
    FROM runs r
   WHERE r.status IN ('queued', 'delayed', 'running')
     AND ((r.status IN ('queued', 'delayed') AND greatest(r.updated_at, r.next_attempt_at) < now() - p_queued_grace)
       OR (r.status = 'running' AND r.updated_at < now() - p_running_stale))
     AND (r.updated_at, r.id) > (p_after_updated, p_after_id)
   ORDER BY r.updated_at, r.id
   LIMIT p_limit
$$;
