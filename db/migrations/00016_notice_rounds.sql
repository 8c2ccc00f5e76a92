-- +goose Up
-- A run re-driven after it ended is notified again when it ends again.
-- Receivers deduplicate on webhook-id (Standard Webhooks), so the second
-- notification needs an id of its own: callback_round counts the
-- notifications a run has had, and the id of round n > 1 is
-- run_{id}:finish:{n} (internal/run, NoticeID). Round 1 keeps
-- run_{id}:finish.
ALTER TABLE runs ADD COLUMN callback_round int NOT NULL DEFAULT 0;
-- Runs notified before this migration had their first round: a re-drive
-- of one of them is round 2, not a second round 1 under the same id.
UPDATE runs SET callback_round = 1 WHERE callback_state IS NOT NULL;

-- aias_runs_callback_due(): as in 00009, and it counts the round.
-- +goose StatementBegin
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
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
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
  RETURN NEW;
END
$$;
-- +goose StatementEnd
ALTER TABLE runs DROP COLUMN IF EXISTS callback_round;
