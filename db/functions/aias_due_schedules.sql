-- aias_due_schedules(now, max_rows)
--   For the leading scheduler, which serves every tenant: live workflows
--   whose next tick is at or before now, earliest first. Returns only ids,
--   tenant ids and the tick; the leader reads the rest in the tenant's
--   transaction.
CREATE OR REPLACE FUNCTION aias_due_schedules(p_now timestamptz, p_limit int)
RETURNS TABLE (workflow_id uuid, tenant_id uuid, next_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT w.id, w.tenant_id, w.schedule_next_at
    FROM workflows w
   WHERE w.schedule_next_at <= p_now AND w.deleted_at IS NULL
   ORDER BY w.schedule_next_at, w.id
   LIMIT p_limit
$$;
