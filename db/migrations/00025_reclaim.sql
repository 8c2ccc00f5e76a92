-- +goose Up
-- Reclaiming a run whose worker died, within seconds rather than at the
-- queue's lease (docs/reliability.md): the scheduler gives a running run
-- whose heartbeat stopped to a new task (a task id of its own), and the
-- claim records which task holds the run, so that the dead worker's task,
-- when the queue hands it out again, cannot take the run back from the
-- live one (aias_claim_run, db/functions).
ALTER TABLE runs ADD COLUMN claimed_by text;
DROP FUNCTION IF EXISTS aias_claim_run(uuid, uuid);
DROP FUNCTION IF EXISTS aias_reclaim_candidates(interval, int); -- its body is in db/functions

-- +goose Down
DROP FUNCTION IF EXISTS aias_claim_run(uuid, uuid, text, interval);
DROP FUNCTION IF EXISTS aias_reclaim_candidates(interval, int);
ALTER TABLE runs DROP COLUMN IF EXISTS claimed_by;
