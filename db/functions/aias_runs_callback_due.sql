-- aias_runs_callback_due()
--   BEFORE UPDATE OF status trigger on runs. When a run enters a terminal
--   status (succeeded, failed, dead, canceled) from a non-terminal one and
--   its pinned definition has an on_finish block asking for that status (no
--   statuses: every terminal one), it marks the notification pending in the
--   same row write and counts the round (callback_round: a re-driven run
--   that ends again is notified again, under a new webhook-id). Every way a
--   run ends (the executor, the queue giving up, a cancel) thus records the
--   notification atomically with the outcome. Runs with the caller's rights:
--   the version is read under the caller's row-level security, i.e. the
--   run's own tenant.
CREATE OR REPLACE FUNCTION aias_runs_callback_due() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  terminal CONSTANT text[] := ARRAY['succeeded', 'failed', 'dead', 'canceled'];
  on_finish jsonb;
BEGIN
  IF NOT (NEW.status = ANY (terminal)) OR OLD.status = ANY (terminal) THEN
    RETURN NEW;
  END IF;
  SELECT v.definition -> 'on_finish' INTO on_finish
    FROM workflow_versions v
   WHERE v.workflow_id = NEW.workflow_id AND v.version = NEW.workflow_version;
  IF on_finish IS NULL OR jsonb_typeof(on_finish) <> 'object' THEN
    RETURN NEW;
  END IF;
  IF jsonb_typeof(on_finish -> 'statuses') = 'array' AND jsonb_array_length(on_finish -> 'statuses') > 0
     AND NOT (on_finish -> 'statuses') ? NEW.status THEN
    RETURN NEW;
  END IF;
  NEW.callback_state := 'pending';
  NEW.callback_attempts := 0;
  NEW.callback_error := NULL;
  NEW.callback_next_at := now();
  NEW.callback_round := OLD.callback_round + 1;
  RETURN NEW;
END
$$;
