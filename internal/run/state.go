package run

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/artifact"
	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/step"
)

// The run state machine: every write that moves a run from one state to
// another, and nothing else, is here. Each transition is one statement (a
// function of db/functions, or an UPDATE guarded by the state it leaves),
// so the state a run is in decides what can happen to it whoever asks —
// intake, worker, API or scheduler — and a writer that lost the run (a late
// delivery, a canceled run) finds its write refused.
//
//	transition         from                          to                       by
//	Insert             —                             queued | held            intake, manual run, replay, cron (aias_insert_run)
//	insertBatch        —                             queued | held            intake, a tenant's deliveries that arrive together (GroupCommit)
//	linkReplays        a new replay                  its replay_of set        API, in the replay's transaction
//	ReleaseHeld        held                          queued                   scheduler, when the quota has room
//	claimRun           queued | delayed | running    running, attempt + 1     worker (aias_claim_run; another task's
//	                   (another task's, or its own   claimed_by = the task    running run only once its heartbeat
//	                   when running: due, or                                  stopped, see Executor.ReclaimAfter)
//	                   running and silent)
//	setRunKey          running, key pending          running | queued         worker (aias_set_run_key)
//	touchRun           running (this attempt)        running                  worker's heartbeat (aias_heartbeat)
//	writeStep          running (this attempt)        running + a step record  worker (aias_write_step)
//	writeArtifactStep  running (this attempt)        running + step, artifact worker (aias_write_artifact_step)
//	forgetSteps        running                       running − later records  worker, after a redrive on a new version
//	delayRun           running (this attempt)        delayed                  worker, a delay step
//	requeueRun         running (this attempt)        queued, next_attempt_at  worker, a retryable failure
//	giveBackAttempt    running (this attempt)        running, attempt − 1,    worker, an interrupted delivery
//	                                                 claimed by none
//	releaseClaim       running (this attempt)        running, claimed by none worker, a delivery that failed for
//	                                                                          want of Postgres (Executor.letGo)
//	finishRun          running (this attempt)        succeeded | failed | dead worker (aias_finish_run)
//	buryRun            queued | delayed | running    dead                     worker, the queue giving up
//	Cancel             held | queued | delayed | running  canceled            API
//	redriveRuns        failed | dead                 queued, attempt 0        API (one run or in bulk)
//	ExpireFinished     finished, past retention      deleted                  scheduler
//
// A run's on_finish notification is a small machine of its own on the same
// row (callback_state): a terminal status marks it pending
// (aias_runs_callback_due), countNoticeAttempt counts a delivery of it,
// and recordNoticeOutcome stores what became of it.

// Insert creates a queued run. When the endpoint already has a run for the
// same delivery id it creates nothing and returns that run's id with
// duplicate = true; likewise when a run with n.ID exists, and, with a
// ReplayWindow, when the endpoint has a run of the same body created within
// it. Concurrent inserts of one delivery id serialize on the unique index
// (of one body, on a lock): exactly one wins, the others see its row.
//
// q may be a transaction of n's tenant or the pool: aias_insert_run
// (migrations 00012, 00022) scopes its statement to the tenant itself, so
// on the pool the run is inserted and committed in one round trip.
func Insert(ctx context.Context, q postgres.Querier, n New) (id uuid.UUID, duplicate bool, err error) {
	var delivery *string
	if n.DeliveryID != "" {
		delivery = &n.DeliveryID
	}
	headers, _ := json.Marshal(nonNil(n.Headers))
	query, _ := json.Marshal(nonNil(n.Query))
	if id = n.ID; id == uuid.Nil {
		id = uuid.New()
	}
	var out struct {
		ID        uuid.UUID `db:"id"`
		Duplicate bool      `db:"duplicate"`
	}
	bodyHash, window := replayKey(n)
	const insert = `SELECT id, duplicate FROM aias_insert_run($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULL, $16, $17::interval, $18)`
	err = q.GetContext(ctx, &out, insert, id, n.TenantID, n.WorkflowID, n.WorkflowVersion, n.EndpointID,
		n.TriggerKind, delivery, n.MaxAttempts, n.RequestID, n.Body, n.ContentType, headers, query, n.ReceivedAt, n.Held,
		bodyHash, window, n.KeyExpr != "")
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("insert run: %w", postgres.Classify(err))
	}
	return out.ID, out.Duplicate, nil
}

// replayKey is the body hash and window aias_insert_run compares against
// (migration 00020); both NULL without a window.
func replayKey(n New) (bodyHash []byte, window *string) {
	if n.ReplayWindow <= 0 {
		return nil, nil
	}
	h := sha256.Sum256(n.Body)
	w := fmt.Sprintf("%d milliseconds", n.ReplayWindow.Milliseconds())
	return h[:], &w
}

// inserted is one run of insertBatch: the run, or the run it repeats.
type inserted struct {
	ID        uuid.UUID `db:"id"`
	Duplicate bool      `db:"duplicate"`
}

// batchRow is one run of insertBatch as its statement reads it
// (json_to_recordset): bytes in base64, the rest as Insert passes it.
type batchRow struct {
	I               int               `json:"i"`
	ID              uuid.UUID         `json:"id"`
	TenantID        uuid.UUID         `json:"tenant_id"`
	WorkflowID      uuid.UUID         `json:"workflow_id"`
	WorkflowVersion int               `json:"workflow_version"`
	EndpointID      *uuid.UUID        `json:"endpoint_id"`
	TriggerKind     string            `json:"trigger_kind"`
	DeliveryID      *string           `json:"delivery_id"`
	MaxAttempts     int               `json:"max_attempts"`
	RequestID       string            `json:"request_id"`
	Body            string            `json:"body"`
	ContentType     string            `json:"content_type"`
	Headers         map[string]string `json:"headers"`
	Query           map[string]string `json:"query"`
	ReceivedAt      time.Time         `json:"received_at"`
	Held            bool              `json:"held"`
	BodySHA256      *string           `json:"body_sha256"`
	ReplayWindow    *string           `json:"replay_window"`
	KeyPending      bool              `json:"key_pending"`
}

// insertBatch is Insert for runs of one tenant (each with its ID set), in
// one statement on the pool and so one transaction: every row goes through
// aias_insert_run, in the order given, and a delivery id repeated within
// the batch is a duplicate of its first run. The answers are in the order
// of ns. An error means nothing was stored.
func insertBatch(ctx context.Context, q postgres.Querier, ns []New) ([]inserted, error) {
	rows := make([]batchRow, len(ns))
	for i, n := range ns {
		r := batchRow{I: i, ID: n.ID, TenantID: n.TenantID, WorkflowID: n.WorkflowID, WorkflowVersion: n.WorkflowVersion,
			EndpointID: n.EndpointID, TriggerKind: n.TriggerKind, MaxAttempts: n.MaxAttempts, RequestID: n.RequestID,
			Body: base64.StdEncoding.EncodeToString(n.Body), ContentType: n.ContentType,
			Headers: nonNil(n.Headers), Query: nonNil(n.Query), ReceivedAt: n.ReceivedAt, Held: n.Held, KeyPending: n.KeyExpr != ""}
		if n.DeliveryID != "" {
			r.DeliveryID = &n.DeliveryID
		}
		if hash, window := replayKey(n); hash != nil {
			h := base64.StdEncoding.EncodeToString(hash)
			r.BodySHA256, r.ReplayWindow = &h, window
		}
		rows[i] = r
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("encode runs: %w", err)
	}
	var out []struct {
		I int `db:"i"`
		inserted
	}
	const insert = `
SELECT r.i, x.id, x.duplicate
  FROM json_to_recordset($1::json) AS r(i int, id uuid, tenant_id uuid, workflow_id uuid, workflow_version int,
       endpoint_id uuid, trigger_kind text, delivery_id text, max_attempts int, request_id text, body text,
       content_type text, headers jsonb, query jsonb, received_at timestamptz, held boolean, body_sha256 text,
       replay_window interval, key_pending boolean)
 CROSS JOIN LATERAL aias_insert_run(r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.endpoint_id,
       r.trigger_kind, r.delivery_id, r.max_attempts, r.request_id, decode(r.body, 'base64'), r.content_type,
       r.headers, r.query, r.received_at, r.held, NULL, decode(r.body_sha256, 'base64'), r.replay_window,
       r.key_pending) AS x`
	if err := q.SelectContext(ctx, &out, insert, doc); err != nil {
		return nil, fmt.Errorf("insert runs: %w", postgres.Classify(err))
	}
	if len(out) != len(ns) {
		return nil, fmt.Errorf("insert runs: %d rows answered for %d runs", len(out), len(ns))
	}
	answers := make([]inserted, len(ns))
	for _, o := range out {
		answers[o.I] = o.inserted
	}
	return answers, nil
}

// claimRun starts a new attempt of the run for the queue task task (aias_claim_run, one round
// trip): the run is returned with resumed = true when an earlier attempt
// had started it. ok is false when the run cannot be claimed: finished,
// canceled, not the tenant's, waiting for an earlier run of its key, or
// claimed by another task whose heartbeat is younger than stale (zero: a
// running run is claimed whoever holds it).
func claimRun(ctx context.Context, q postgres.Getter, tenantID, id uuid.UUID, task string, stale time.Duration) (r Run, resumed, ok bool, err error) {
	var c struct {
		Run
		Resumed bool `db:"resumed"`
	}
	var taskArg, staleArg *string
	if task != "" {
		taskArg = &task
	}
	if stale > 0 {
		s := fmt.Sprintf("%d milliseconds", stale.Milliseconds())
		staleArg = &s
	}
	err = q.GetContext(ctx, &c, `SELECT * FROM aias_claim_run($1, $2, $3, $4::interval)`, tenantID, id, taskArg, staleArg)
	if postgres.IsNoRows(err) {
		return Run{}, false, false, nil
	}
	if err != nil {
		return Run{}, false, false, fmt.Errorf("claim run %s: %w", id, postgres.Classify(err))
	}
	return c.Run, c.Resumed, true, nil
}

// keyState is what recording a computed concurrency key decided
// (aias_set_run_key): "set" the run goes on, "wait" an earlier run of the
// key is unfinished and the claim was handed back, "none" the key had been
// decided before, "gone" the run is no longer this attempt's.
type keyState string

// setRunKey records the key the worker computed for the claimed run r.
func setRunKey(ctx context.Context, q postgres.Getter, r Run, key *string) (keyState, error) {
	var state keyState
	const set = `SELECT aias_set_run_key($1, $2, $3, $4)`
	if err := q.GetContext(ctx, &state, set, r.TenantID, r.ID, r.Attempt, key); err != nil {
		return "", fmt.Errorf("record the concurrency key of run %s: %w", r.ID, postgres.Classify(err))
	}
	return state, nil
}

// touchRun records progress (aias_heartbeat, one round trip). It fails
// with errNotRunnable if the run stopped being this delivery's: canceled,
// finished, or claimed again by a newer delivery.
func touchRun(ctx context.Context, q postgres.Getter, r Run) error {
	var running bool
	if err := q.GetContext(ctx, &running, `SELECT aias_heartbeat($1, $2, $3)`, r.TenantID, r.ID, r.Attempt); err != nil {
		return fmt.Errorf("heartbeat run %s: %w", r.ID, postgres.Classify(err))
	}
	if !running {
		return fmt.Errorf("%w: run %s attempt %d is no longer running here", errNotRunnable, r.ID, r.Attempt)
	}
	return nil
}

// writeStep upserts a step record, never overwriting a succeeded one, and
// returns the step's failed tries; counted adds one to them. With heartbeat
// it first records the run's progress and fails with errNotRunnable, writing
// nothing, when the run stopped being this attempt's: canceled, finished, or
// claimed again by a newer delivery.
//
// q may be the pool: aias_write_step (migration 00013) scopes its statement
// to the tenant, and the record is committed in one round trip.
func writeStep(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, s StepRecord, heartbeat, counted bool) (int, error) {
	const write = `SELECT running, tries FROM aias_write_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	return fencedWrite(ctx, q, s, "", write, tenantID, s.RunID, s.Attempt, heartbeat, s.Position, s.Name, s.Type, s.Status,
		nullJSON(s.Output), postgres.TextPtr(s.Error), logsJSON(s), s.StartedAt, s.FinishedAt, s.DurationMS, counted)
}

// writeArtifactStep writes a succeeded step with the one artifact it made,
// whose bytes fit in the artifact's row (artifact.InRow), in one statement
// (aias_write_artifact_step) with writeStep's heartbeat. A retried step that
// writes the same name again keeps the first copy.
func writeArtifactStep(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, s StepRecord, a step.Artifact) error {
	const write = `SELECT running, tries FROM aias_write_artifact_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
	                                                                  $14, $15, $16, $17, $18, $19)`
	_, err := fencedWrite(ctx, q, s, fmt.Sprintf(" with artifact %q", a.Name), write, tenantID, s.RunID, s.Attempt, s.Position,
		s.Name, s.Type, s.Status, nullJSON(s.Output), postgres.TextPtr(s.Error), logsJSON(s), s.StartedAt, s.FinishedAt, s.DurationMS,
		uuid.New(), a.Name, a.ContentType, len(a.Content), artifact.Sum(a.Content), a.Content)
	return err
}

// fencedWrite runs a step write that answers (running, tries): errNotRunnable
// when the run is no longer this attempt's to write, else the step's failed
// tries. what says what else was written, for the error.
func fencedWrite(ctx context.Context, q postgres.Querier, s StepRecord, what, write string, args ...any) (int, error) {
	var out struct {
		Running bool `db:"running"`
		Tries   int  `db:"tries"`
	}
	if err := q.GetContext(ctx, &out, write, args...); err != nil {
		return 0, fmt.Errorf("write step %s of run %s%s: %w", s.Name, s.RunID, what, postgres.Classify(err))
	}
	if !out.Running {
		return 0, fmt.Errorf("%w: run %s attempt %d is no longer running here", errNotRunnable, s.RunID, s.Attempt)
	}
	return out.Tries, nil
}

// forgetSteps deletes the run's step records (and artifacts) from position
// pos on: they belong to another version of the workflow, which a redrive
// on the current version left behind.
func forgetSteps(ctx context.Context, q postgres.Querier, r Run, pos int) error {
	const artifacts = `DELETE FROM artifacts WHERE run_id = $1 AND tenant_id = $3 AND step_position >= $2`
	if _, err := q.ExecContext(ctx, artifacts, r.ID, pos, r.TenantID); err != nil {
		return fmt.Errorf("forget artifacts of run %s: %w", r.ID, postgres.Classify(err))
	}
	const steps = `DELETE FROM run_steps WHERE run_id = $1 AND tenant_id = $3 AND position >= $2`
	if _, err := q.ExecContext(ctx, steps, r.ID, pos, r.TenantID); err != nil {
		return fmt.Errorf("forget steps of run %s: %w", r.ID, postgres.Classify(err))
	}
	return nil
}

// delayRun parks a running run until a delay step's time.
func delayRun(ctx context.Context, q postgres.Querier, r Run, until time.Time) error {
	const park = `UPDATE runs SET status = 'delayed', next_attempt_at = $3, updated_at = now()
	               WHERE id = $1 AND tenant_id = $4 AND status = 'running' AND attempt = $2`
	res, err := q.ExecContext(ctx, park, r.ID, r.Attempt, until, r.TenantID)
	if err != nil {
		return fmt.Errorf("delay run %s: %w", r.ID, postgres.Classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: run %s attempt %d is no longer running here", errNotRunnable, r.ID, r.Attempt)
	}
	return nil
}

// requeueRun records a retryable failure of this attempt: the run waits in
// queued until next, when the queue delivers the retry. next_attempt_at
// says when that is due, so the sweep can tell a waiting run from a lost
// one.
func requeueRun(ctx context.Context, q postgres.Querier, r Run, msg string, next time.Time) error {
	const requeue = `UPDATE runs SET status = 'queued', error = $2, next_attempt_at = $3, updated_at = now()
	                  WHERE id = $1 AND tenant_id = $5 AND status = 'running' AND attempt = $4`
	if _, err := q.ExecContext(ctx, requeue, r.ID, postgres.Text(msg), next, r.Attempt, r.TenantID); err != nil {
		return fmt.Errorf("requeue run %s: %w", r.ID, postgres.Classify(err))
	}
	return nil
}

// giveBackAttempt returns an interrupted delivery's attempt to the run's
// budget, and the run to whichever delivery comes next (claimed_by), so
// that the task's retry need not wait for the heartbeat to go stale.
func giveBackAttempt(ctx context.Context, q postgres.Querier, r Run) error {
	const giveBack = `UPDATE runs SET attempt = attempt - 1, claimed_by = NULL
	                   WHERE id = $1 AND tenant_id = $3 AND attempt = $2 AND status = 'running'`
	if _, err := q.ExecContext(ctx, giveBack, r.ID, r.Attempt, r.TenantID); err != nil {
		return fmt.Errorf("give back attempt %d of run %s: %w", r.Attempt, r.ID, postgres.Classify(err))
	}
	return nil
}

// releaseClaim clears the run's claim by task while the run is still
// running at this attempt, so that the task's next delivery claims it at
// once (Executor.letGo).
func releaseClaim(ctx context.Context, q postgres.Querier, r Run, task string) error {
	const release = `UPDATE runs SET claimed_by = NULL
	                  WHERE id = $1 AND tenant_id = $2 AND attempt = $3 AND status = 'running' AND claimed_by = $4`
	if _, err := q.ExecContext(ctx, release, r.ID, r.TenantID, r.Attempt, task); err != nil {
		return fmt.Errorf("release the claim of run %s: %w", r.ID, postgres.Classify(err))
	}
	return nil
}

// finishRun ends the run's attempt with status. owned is false when the
// run is no longer this attempt's (another delivery owns it and finishes
// it); notify is whether its on_finish notification is now pending, read
// from the very write that ends the run (aias_finish_run, migration 00013).
func finishRun(ctx context.Context, q postgres.Querier, r Run, status Status, msg *string) (owned, notify bool, err error) {
	const done = `SELECT notify FROM aias_finish_run($1, $2, $3, $4, $5)`
	err = q.GetContext(ctx, &notify, done, r.TenantID, r.ID, r.Attempt, status, postgres.TextPtr(msg))
	if postgres.IsNoRows(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("finish run %s: %w", r.ID, postgres.Classify(err))
	}
	return true, notify, nil
}

// buryRun marks an unfinished run dead whatever its attempt: the queue is
// giving up on its task.
func buryRun(ctx context.Context, q postgres.Querier, tenantID, id uuid.UUID, msg string) error {
	const dead = `UPDATE runs SET status = 'dead', error = $2, finished_at = now(), updated_at = now(), next_attempt_at = NULL
	               WHERE id = $1 AND tenant_id = $3 AND status IN ('queued', 'delayed', 'running')`
	if _, err := q.ExecContext(ctx, dead, id, postgres.Text(msg), tenantID); err != nil {
		return fmt.Errorf("bury run %s: %w", id, postgres.Classify(err))
	}
	return nil
}

// Cancel stops a run that has not finished. A held, queued or delayed run
// never starts again; a running one has its in-flight step's context
// canceled by the worker's next heartbeat, which is refused, and no later
// step starts.
func Cancel(ctx context.Context, q postgres.Querier, id uuid.UUID) (Status, error) {
	var st Status
	const cancel = `UPDATE runs SET status = 'canceled', finished_at = now(), updated_at = now(), next_attempt_at = NULL
	                 WHERE id = $1 AND tenant_id = $2 AND status IN ('held', 'queued', 'delayed', 'running') RETURNING status`
	err := q.GetContext(ctx, &st, cancel, id, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		r, gerr := Get(ctx, q, id)
		if gerr != nil {
			return "", gerr
		}
		return r.Status, errs.E(errs.Conflict, "already_finished", fmt.Sprintf("the run is already %s", r.Status))
	}
	if err != nil {
		return "", fmt.Errorf("cancel run %s: %w", id, postgres.Classify(err))
	}
	return st, nil
}

// redriveRuns resets the locked runs that are still failed or dead, as
// Redrive does, and returns their ids. The run starts again at its next
// claim, as far as its workflow's timeout is concerned (started_at): from
// its first start, or from the re-drive while it waits in the queue, the
// timeout of a run failed a while ago could fail it before its step was
// tried. (The claim still reads the run as resumed, from its step records:
// its succeeded steps stay done.) It also arrives anew (a new seq): runs
// of its concurrency key that came since and have not finished go first,
// instead of running beside it.
func redriveRuns(ctx context.Context, q postgres.Querier, keys []bulkKey, current bool) ([]uuid.UUID, error) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID.String()
	}
	const redrive = `
UPDATE runs SET status = 'queued', attempt = 0, error = NULL, finished_at = NULL, next_attempt_at = NULL,
       started_at = NULL, seq = DEFAULT,
       workflow_version = CASE WHEN $2 THEN (SELECT w.current_version FROM workflows w WHERE w.id = runs.workflow_id)
                               ELSE workflow_version END,
       updated_at = now()
 WHERE id = ANY($1::uuid[]) AND tenant_id = $3 AND status IN ('failed', 'dead')
RETURNING id`
	var out []uuid.UUID
	if err := q.SelectContext(ctx, &out, redrive, postgres.StringArray(ids), current, postgres.Tenant(q)); err != nil {
		return nil, fmt.Errorf("redrive runs: %w", postgres.Classify(err))
	}
	return out, nil
}

// linkReplays sets replay_of on the new runs of a batch.
func linkReplays(ctx context.Context, q postgres.Querier, made []uuid.UUID, originals []string) error {
	if len(made) == 0 {
		return nil
	}
	ids := make([]string, len(made))
	for i, id := range made {
		ids[i] = id.String()
	}
	const link = `UPDATE runs SET replay_of = m.original
	                FROM unnest($1::uuid[], $2::uuid[]) AS m (id, original)
	               WHERE runs.id = m.id AND runs.tenant_id = $3`
	if _, err := q.ExecContext(ctx, link, postgres.StringArray(ids), postgres.StringArray(originals), postgres.Tenant(q)); err != nil {
		return fmt.Errorf("link replays: %w", postgres.Classify(err))
	}
	return nil
}

// Released is a held run the quota now admits.
type Released struct {
	ID          uuid.UUID `db:"id"`
	MaxAttempts int       `db:"max_attempts"`
}

// ReleaseHeld queues up to limit of the tenant's held runs, oldest first,
// and counts them against the quota from now (counted_at). Runs another
// release has locked are skipped, so releases running at once never start
// a run twice.
func ReleaseHeld(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, limit int64) ([]Released, error) {
	var rs []Released
	const release = `
UPDATE runs SET status = 'queued', counted_at = now(), updated_at = now()
 WHERE id IN (SELECT id FROM runs WHERE tenant_id = $2 AND status = 'held' ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, max_attempts`
	if err := q.SelectContext(ctx, &rs, release, limit, tenantID); err != nil {
		return nil, fmt.Errorf("release held runs: %w", postgres.Classify(err))
	}
	return rs, nil
}

// ExpireFinished deletes up to limit of the tenant's runs that finished
// before cutoff (their steps and artifacts go with them) and returns how
// many it deleted. Unfinished runs are never deleted.
func ExpireFinished(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, cutoff time.Time, limit int) (int64, error) {
	const expire = `DELETE FROM runs WHERE id IN (
	                  SELECT id FROM runs WHERE tenant_id = $3 AND finished_at < $1 LIMIT $2)`
	res, err := q.ExecContext(ctx, expire, cutoff, limit, tenantID)
	if err != nil {
		return 0, fmt.Errorf("delete expired runs: %w", postgres.Classify(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// countNoticeAttempt counts one delivery of the run's pending on_finish
// notification; errNoNotice when none is pending.
func countNoticeAttempt(ctx context.Context, q postgres.Querier, tenantID, id uuid.UUID) (noticeClaim, error) {
	var claim noticeClaim
	const count = `UPDATE runs SET callback_attempts = callback_attempts + 1
	                WHERE id = $1 AND tenant_id = $2 AND callback_state = 'pending' RETURNING callback_attempts, callback_round`
	err := q.GetContext(ctx, &claim, count, id, tenantID)
	if postgres.IsNoRows(err) {
		return claim, errNoNotice
	}
	if err != nil {
		return claim, fmt.Errorf("claim notification of run %s: %w", id, postgres.Classify(err))
	}
	return claim, nil
}

// recordNoticeOutcome stores what became of a counted delivery of the
// notification; a newer delivery, or a new round after a re-drive, that
// counted since leaves it alone.
func recordNoticeOutcome(ctx context.Context, q postgres.Querier, r Run, claim noticeClaim, state string, msg *string, next *time.Time) error {
	const record = `UPDATE runs SET callback_state = $2, callback_error = $3, callback_next_at = $4
	                 WHERE id = $1 AND tenant_id = $7 AND callback_state = 'pending' AND callback_attempts = $5 AND callback_round = $6`
	if _, err := q.ExecContext(ctx, record, r.ID, state, postgres.TextPtr(msg), next, claim.Attempts, claim.Round, r.TenantID); err != nil {
		return fmt.Errorf("record notification of run %s: %w", r.ID, postgres.Classify(err))
	}
	return nil
}

// logsJSON is the record's log lines, [] for none.
func logsJSON(s StepRecord) []byte {
	if s.Logs == nil {
		return []byte("[]")
	}
	return []byte(s.Logs)
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}
