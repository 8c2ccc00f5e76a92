-- aias_notify_candidates(limit)
--   For the scheduler, which serves every tenant: runs whose on_finish
--   notification is pending and due, oldest due first. Returns only ids and
--   tenant ids; the scheduler makes sure each has a run:notify task.
CREATE OR REPLACE FUNCTION aias_notify_candidates(p_limit int)
RETURNS TABLE (id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.tenant_id
    FROM runs r
   WHERE r.callback_state = 'pending' AND r.callback_next_at <= now()
   ORDER BY r.callback_next_at, r.id
   LIMIT p_limit
$$;
