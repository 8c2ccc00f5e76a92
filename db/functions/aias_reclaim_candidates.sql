-- aias_reclaim_candidates(after, max_rows)
--   For the scheduler, which serves every tenant: running runs whose worker
--   has not touched them for p_after (a worker touches a running run every
--   AIAS_RUN_HEARTBEAT while a step is in flight, and writes it as each
--   step ends: silence means the worker is gone), oldest first, with the
--   attempt that went silent and for how long (ms). Returns only ids; no
--   payload.
CREATE OR REPLACE FUNCTION aias_reclaim_candidates(p_after interval, p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid, attempt int, silent_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id, r.attempt, (extract(epoch FROM now() - r.updated_at) * 1000)::bigint
    FROM runs r
   WHERE r.status = 'running' AND r.updated_at < now() - p_after
   ORDER BY r.updated_at
   LIMIT p_limit
$$;
