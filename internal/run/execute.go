package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/artifact"
	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/secret"
	"aias/internal/step"
	"aias/internal/telemetry"
	"aias/internal/workflow"
)

// ErrExhausted marks a run that just became dead: its last attempt failed.
// The worker hands such a task to asynq's archive, the dead-letter queue.
var ErrExhausted = errors.New("attempts exhausted")

// errNotRunnable means the task has nothing to do (run finished, canceled,
// or not visible to the task's tenant).
var errNotRunnable = errors.New("run is not runnable")

// Executor runs a run's steps in order, committing each finished step before
// the next one starts.
type Executor struct {
	DB      *postgres.DB
	Deps    step.Deps
	Backoff Backoff // the default retry policy's waits
	Now     func() time.Time
	Metrics *telemetry.Metrics   // optional
	Keys    secret.Sealer        // opens tenant secrets workflows use
	Plans   *entitlement.Checker // with Slots: the plan's concurrency per tenant
	Slots   *entitlement.Slots   // nil: no per-tenant concurrency limit
	// ArtifactBytes meters artifact bytes per tenant and month; nil sums
	// the period's artifacts on every artifact step instead.
	ArtifactBytes *entitlement.ArtifactBytes
	Nudger        Nudger      // optional: starts the next run of a key at once
	Notices       NoticeQueue // optional: enqueues on_finish notifications at once (else the sweep does)
	// Heartbeat is how often a running step's run is touched, which also
	// notices a cancel and cancels the step's context (default 2s).
	Heartbeat time.Duration
	// ReclaimAfter is how long a running run another task claimed must go
	// without a heartbeat before this task may take it over (the
	// scheduler's reclaim, AIAS_RUN_RECLAIM_AFTER); zero: at once, as a
	// redelivery always could.
	ReclaimAfter time.Duration

	plans planCache // tenants' plans for planTTL (plancache.go)
	defs  defCache  // pinned workflow versions, immutable (defcache.go)
}

// ErrBusy means the run cannot start yet — its tenant already runs as many
// runs as its plan allows, or an earlier run of its concurrency key has not
// finished; the task waits a moment and comes back, without spending an
// attempt.
var ErrBusy = errors.New("tenant at its concurrency limit or run waiting for its turn")

// DelayError means a delay step checkpointed the run: the task comes back
// at Until, without spending an attempt. The run is delayed in Postgres
// with next_attempt_at = Until, so the sweep re-enqueues it if the queue
// loses the task.
type DelayError struct{ Until time.Time }

func (e *DelayError) Error() string {
	return "run delayed until " + e.Until.UTC().Format(time.RFC3339)
}

// RetryError is a retryable failure with the wait the step's retry policy
// (or the target's Retry-After) asks for before the next attempt.
type RetryError struct {
	Wait time.Duration
	Err  error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Attempt tells the executor about the queue's view of this delivery.
type Attempt struct {
	// LastChance is true when the queue will not retry this task again,
	// whatever the run's own attempt budget says.
	LastChance bool
	// TaskID is the queue task delivering the run (the run's id, or a
	// reclaim's own id); the claim records it (aias_claim_run).
	TaskID string
}

// Execute advances run id of tenant by one delivery. It returns nil when the
// task is done (the run is terminal, or there was nothing to do); an error
// wrapping ErrExhausted when the run just became dead; ErrBusy or a
// *DelayError when the run waits without spending an attempt; a
// *RetryError when a step failed and will be retried; and any other error
// when the run could not be advanced (Postgres away, say) and the delivery
// should simply be retried.
//
// The run's attempt number, incremented by the claim, fences every later
// write: a delivery that lost the run to a newer one (a redelivery after a
// lost lease, say) finds its writes refused and stops.
func (e *Executor) Execute(ctx context.Context, tenantID, id uuid.UUID, a Attempt) (err error) {
	p := e.planOf(ctx, tenantID)
	limit := p.Limits.Concurrency
	if e.Slots == nil {
		limit = 0
	}
	hold := e.Slots.Acquire(ctx, tenantID, id, limit)
	if hold == entitlement.Full {
		return ErrBusy
	}
	leased := e.now()
	r, def, done, err := e.start(ctx, tenantID, id, a.TaskID)
	// The slot is given back by the delivery that claimed the run, or that
	// took it: one that found it held and was refused the claim leaves it
	// to the delivery running the run.
	if r.ID != uuid.Nil || hold == entitlement.Taken {
		defer e.Slots.Release(ctx, tenantID, id)
	}
	if r.ID != uuid.Nil {
		defer func() { e.letGo(ctx, r, a.TaskID, err) }()
	}
	if errors.Is(err, errNotRunnable) {
		logging.From(ctx).Info().Err(err).Msg("task skipped")
		return nil
	}
	if errors.Is(err, ErrBusy) {
		return err
	}
	if err != nil {
		if a.LastChance {
			return e.Bury(ctx, tenantID, id, fmt.Sprintf("could not start: %v", err))
		}
		return err
	}
	if def.ConcurrencyKey != "" && r.ConcurrencyKey == nil {
		if ours, err := e.turnOfKey(ctx, &r, def, a); !ours {
			return err
		}
	}
	ctx = logging.With(ctx, logging.From(ctx).With().Int("attempt", r.Attempt).Logger())
	telemetry.SpanInt(ctx, "aias.attempt", r.Attempt) // the worker's run:execute span
	logging.From(ctx).Info().Msg("run started")
	if r.Attempt == 1 && e.Metrics != nil {
		e.Metrics.RunsStarted.Inc()
	}
	env := triggerEnv(r)
	deps, err := e.withSecrets(ctx, r, def, env)
	if err != nil {
		return e.fail(ctx, r, def, &stepFailure{step: workflow.Step{Name: "secrets"}, err: err}, a)
	}
	deps.CallbackSigner = e.callbackSigner(ctx, r, def)
	runCtx, cancel := e.runDeadline(ctx, r, def)
	defer cancel()
	w := &walker{e: e, r: r, def: def, deps: deps, done: done, base: ctx, limit: limit, leased: leased, maxItems: p.Limits.ForeachItems}
	err = w.walk(runCtx, def.Steps, env)
	var (
		failure *stepFailure
		delayed *DelayError
	)
	switch {
	case err == nil:
		return e.finish(ctx, r, Succeeded, nil, nil, 0)
	case errors.Is(err, errStopped):
		return e.finish(ctx, r, Succeeded, nil, w.skipped, w.pos)
	case errors.As(err, &delayed):
		logging.From(ctx).Info().Time("until", delayed.Until).Msg("run delayed")
		return err
	case errors.Is(err, errNotRunnable):
		logging.From(ctx).Info().Err(err).Msg("run stopped")
		return nil
	case errors.As(err, &failure):
		return e.fail(ctx, r, def, failure, a)
	}
	// Infrastructure (Postgres unreachable while committing, say): the run
	// is not judged and spends no attempt; the delivery is retried.
	if ctx.Err() != nil {
		e.giveBack(ctx, r)
	}
	logging.From(ctx).Warn().Err(err).Msg("run could not advance; retrying")
	return fmt.Errorf("run %s: %w", r.ID, err)
}

// turnOfKey computes the key of a claimed run whose key may be pending
// (order.go). ours is true when it is the run's turn and the delivery goes
// on with its steps; otherwise err is what the delivery returns: ErrBusy
// when an earlier run of the key must finish first (the claim is handed
// back), the outcome of failing the run when its key cannot be computed,
// nil when the run is no longer this delivery's.
func (e *Executor) turnOfKey(ctx context.Context, r *Run, def workflow.Definition, a Attempt) (ours bool, err error) {
	waiting, err := e.resolveKey(ctx, r, def.ConcurrencyKey)
	switch {
	case errors.Is(err, errNotRunnable):
		logging.From(ctx).Info().Err(err).Msg("run stopped")
		return false, nil
	case step.IsPermanent(err):
		return false, e.fail(ctx, *r, def, &stepFailure{step: workflow.Step{Name: "concurrency_key"}, err: err}, a)
	case err != nil:
		if ctx.Err() != nil {
			e.giveBack(ctx, *r)
		}
		return false, fmt.Errorf("run %s: %w", r.ID, err)
	case waiting:
		return false, ErrBusy
	}
	return true, nil
}

// runDeadline bounds the run by its workflow's timeout, counted from its
// first start.
func (e *Executor) runDeadline(ctx context.Context, r Run, def workflow.Definition) (context.Context, context.CancelFunc) {
	d, err := time.ParseDuration(def.Timeout)
	if def.Timeout == "" || err != nil || r.StartedAt == nil {
		return context.WithCancel(ctx)
	}
	return context.WithDeadlineCause(ctx, r.StartedAt.Add(d), errRunTimeout{d})
}

// errRunTimeout is the cause of a run context that reached its workflow's
// timeout: a permanent failure.
type errRunTimeout struct{ d time.Duration }

func (e errRunTimeout) Error() string { return fmt.Sprintf("the run exceeded its timeout of %s", e.d) }

// withSecrets loads the tenant secrets the workflow names into the run's
// environment and returns the step dependencies with a redactor that masks
// them in everything a step returns. A secret that is not set fails the run
// (permanent); one that cannot be decrypted is retried (an operator fix).
func (e *Executor) withSecrets(ctx context.Context, r Run, def workflow.Definition, env step.Env) (step.Deps, error) {
	deps := e.Deps
	names := def.SecretNames()
	if len(names) == 0 {
		return deps, nil
	}
	var values map[string]string
	err := e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) (err error) {
		values, err = secret.Load(ctx, q, e.Keys, r.TenantID, names)
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return deps, step.Permanent(errors.New(errs.MessageOf(err)))
	}
	if err != nil {
		return deps, err
	}
	env["secrets"] = values
	vals := make([]string, 0, len(values))
	for _, v := range values {
		vals = append(vals, v)
	}
	deps.Redactor = step.NewRedactor(vals...)
	return deps, nil
}

// redact masks secret values in everything a step hands back before any of
// it is stored, logged or seen by later steps.
func redact(red *step.Redactor, res step.Result, err error) (step.Result, error) {
	return red.Result(res), red.Error(err)
}

// artifactRoom reserves the step's artifact bytes against the tenant's
// monthly allowance; a step that would pass it fails for good. undo gives
// the bytes back when the step's transaction does not commit.
func (e *Executor) artifactRoom(ctx context.Context, q postgres.Getter, tenantID uuid.UUID, p plan.Plan, arts []step.Artifact) (undo func(), err error) {
	undo = func() {}
	if len(arts) == 0 || e.Plans == nil {
		return undo, nil
	}
	limit := p.Limits.ArtifactBytesPerMonth
	if limit == plan.Unlimited {
		return undo, nil
	}
	var adding int64
	for _, a := range arts {
		adding += int64(len(a.Content))
	}
	var ok bool
	if e.ArtifactBytes != nil {
		undo, ok, err = e.ArtifactBytes.Reserve(ctx, q, tenantID, p, adding, e.now())
	} else { // no Redis meter: the sum itself
		var used int64
		used, err = entitlement.StoredSince(ctx, q, entitlement.PeriodStart(e.now()))
		ok = used+adding <= limit
	}
	if err != nil {
		return func() {}, err
	}
	if !ok {
		return func() {}, step.Permanent(entitlement.PlanLimit(p, "artifact bytes per month", limit))
	}
	return undo, nil
}

// planOf is the tenant's plan, for its concurrency and foreach limits,
// read at most once per planTTL per tenant. A tenant that cannot be read gets
// the zero plan here (no limits); start refuses its task.
func (e *Executor) planOf(ctx context.Context, tenantID uuid.UUID) plan.Plan {
	p, _ := e.plan(ctx, tenantID)
	return p
}

// plan is the tenant's plan, read at most once per planTTL (plancache.go),
// in a transaction of its own: never call it inside another.
func (e *Executor) plan(ctx context.Context, tenantID uuid.UUID) (plan.Plan, error) {
	if e.Plans == nil {
		return plan.Plan{}, nil
	}
	return e.plans.get(tenantID, e.now(), func() (p plan.Plan, err error) {
		err = e.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
			p, err = e.Plans.PlanOf(ctx, q, tenantID)
			return err
		})
		return p, err
	})
}

// start claims the run for a new attempt (aias_claim_run, one round trip)
// and returns it with its pinned workflow version and, when an earlier
// attempt had started it, the steps that succeeded then. ErrBusy: an
// earlier run of its concurrency key is unfinished.
func (e *Executor) start(ctx context.Context, tenantID, id uuid.UUID, task string) (Run, workflow.Definition, map[int]StepRecord, error) {
	done := map[int]StepRecord{}
	r, resumed, ok, err := claimRun(ctx, e.DB, tenantID, id, task, e.ReclaimAfter)
	if err != nil {
		return Run{}, workflow.Definition{}, done, err
	}
	if !ok {
		return Run{}, workflow.Definition{}, done, e.unclaimed(ctx, tenantID, id)
	}
	def, err := e.defs.pinned(ctx, e.DB.Scoped(tenantID), r)
	if err != nil || !resumed {
		return r, def, done, err
	}
	err = e.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		recs, err := Steps(ctx, q, id)
		for _, rec := range recs {
			done[rec.Position] = rec // a succeeded one is done; a failed one's tries count on
		}
		return err
	})
	return r, def, done, err
}

// unclaimed says why a run could not be claimed: ErrBusy when an earlier
// run of its concurrency key is unfinished, else not runnable (finished,
// canceled, or not the tenant's).
func (e *Executor) unclaimed(ctx context.Context, tenantID, id uuid.UUID) error {
	waiting, err := waitingTurn(ctx, e.DB.Scoped(tenantID), id)
	if err != nil {
		return err
	}
	if waiting {
		return ErrBusy
	}
	return fmt.Errorf("%w: %s is finished or not visible to tenant %s", errNotRunnable, id, tenantID)
}

// storeError makes a result Postgres refuses to store (a NUL in JSON text,
// say) a permanent failure: the same result would be refused on every retry.
func storeError(err error) error {
	if e, ok := errs.As(err); ok && e.Kind == errs.Invalid {
		return step.Permanent(fmt.Errorf("step result cannot be stored: %s", e.Message))
	}
	return err
}

// commitStep writes a succeeded step, its artifacts and the run's heartbeat
// atomically, so a crash leaves either all of them or none: in one statement
// for a step without artifacts or with one that fits in its row (the
// artifact step's usual case), else in one transaction. A delay step's
// commit also marks the run delayed until the time it waits for.
func (e *Executor) commitStep(ctx context.Context, r Run, rec StepRecord, arts []step.Artifact, until time.Time) error {
	if len(arts) == 0 && until.IsZero() { // the record alone: one statement, one round trip
		_, err := writeStep(ctx, e.DB, r.TenantID, rec, true, false)
		return err
	}
	// The plan (kept for planTTL) is read before the transaction: reading it
	// inside would take a second connection while this one is held.
	p, err := e.plan(ctx, r.TenantID)
	if err != nil {
		return err
	}
	if len(arts) == 1 && until.IsZero() && artifact.InRow(arts[0].Content) { // an artifact step: one round trip
		// The bytes are reserved before the write that checks the run is
		// still this attempt's, and given back when it is not (or the write
		// fails); a refusal for a full allowance is recorded through the
		// fenced failure path, so a run no longer running records nothing.
		undo, err := e.artifactRoom(ctx, e.DB.Scoped(r.TenantID), r.TenantID, p, arts)
		if err != nil {
			return err
		}
		if err := writeArtifactStep(ctx, e.DB, r.TenantID, rec, arts[0]); err != nil {
			undo()
			return err
		}
		return nil
	}
	undo := func() {}
	err = e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) (err error) {
		if _, err := writeStep(ctx, q, r.TenantID, rec, true, false); err != nil {
			return err
		}
		if undo, err = e.artifactRoom(ctx, q, r.TenantID, p, arts); err != nil {
			return err
		}
		for _, a := range arts {
			_, err := artifact.Insert(ctx, q, artifact.New{TenantID: r.TenantID, RunID: r.ID,
				StepPosition: rec.Position, Name: a.Name, ContentType: a.ContentType, Content: a.Content})
			if err != nil {
				return err
			}
		}
		if !until.IsZero() {
			return delayRun(ctx, q, r, until)
		}
		return nil
	})
	if err != nil {
		undo()
	}
	return err
}

// writeFailedStep records a failed attempt of a step and returns how many
// attempts of it have failed. counted is false for an attempt cut short by
// shutdown, which is not the step's fault.
func (e *Executor) writeFailedStep(ctx context.Context, r Run, rec StepRecord, counted bool) (int, error) {
	// The step's own context may be the one that expired; the record must still land.
	ctx, cancel := detached(ctx)
	defer cancel()
	return writeStep(ctx, e.DB, r.TenantID, rec, true, counted)
}

// forgetFrom deletes the step records (and artifacts) from position on: they
// belong to another version of the workflow, which a redrive on the
// current version left behind.
func (e *Executor) forgetFrom(ctx context.Context, r Run, pos int) error {
	return e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) error { return forgetSteps(ctx, q, r, pos) })
}

// fail decides what a step failure means for the run: a permanent error
// fails it; a retryable one is retried after the step's policy's wait until
// the step has failed as many times as its policy allows, and then the run
// is dead.
func (e *Executor) fail(ctx context.Context, r Run, def workflow.Definition, f *stepFailure, a Attempt) error {
	msg := fmt.Sprintf("step %s: %v", f.step.Name, f.err)
	if step.IsPermanent(f.err) {
		return e.finish(ctx, r, Failed, &msg, nil, 0)
	}
	if ctx.Err() != nil {
		// Shutdown or task timeout: hand the run back without judging it,
		// and without spending its attempt budget.
		e.giveBack(ctx, r)
		return fmt.Errorf("run %s interrupted: %w", r.ID, f.err)
	}
	pol := e.policyOf(def, f.step)
	if f.tries >= pol.MaxAttempts || a.LastChance {
		if err := e.finish(ctx, r, Dead, &msg, nil, 0); err != nil {
			return err
		}
		return fmt.Errorf("run %s: %s: %w", r.ID, msg, ErrExhausted)
	}
	wait := pol.wait(max(f.tries, 1))
	if after, ok := step.RetryAfterOf(f.err); ok {
		// asynq schedules to the whole second, truncating: one more second
		// so the retry is never earlier than the target asked.
		wait = max(wait, after+time.Second)
	}
	if err := e.requeue(ctx, r, msg, wait); err != nil {
		return err
	}
	return &RetryError{Wait: wait, Err: fmt.Errorf("run %s attempt %d: %s (failure %d of %d)", r.ID, r.Attempt, msg, f.tries, pol.MaxAttempts)}
}

// giveBack returns an interrupted delivery's attempt to the run's budget.
func (e *Executor) giveBack(ctx context.Context, r Run) {
	ctx, cancel := detached(ctx)
	defer cancel()
	err := e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) error { return giveBackAttempt(ctx, q, r) })
	if err != nil {
		logging.From(ctx).Warn().Err(err).Msg("could not give back the interrupted attempt")
	}
}

// letGo lets the task's retry claim the run at once when this delivery
// ends with err and the run as it was, still running at this attempt (the
// claim refuses a second delivery of the same task while the run's
// heartbeat is fresh): Postgres failed a commit, say, and the queue
// retries the delivery in a moment. Best effort: if it fails too, the
// retry steps aside and the reclaim sweep gives the run a new task once
// its heartbeat is stale.
func (e *Executor) letGo(ctx context.Context, r Run, task string, err error) {
	var delayed *DelayError
	var retry *RetryError
	if err == nil || task == "" || errors.Is(err, ErrBusy) || errors.Is(err, ErrExhausted) ||
		errors.As(err, &delayed) || errors.As(err, &retry) {
		return // the run moved on (finished, parked, requeued, handed back) or nobody holds it by task
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) error { return releaseClaim(ctx, q, r, task) }); err != nil {
		logging.From(ctx).Warn().Err(err).Msg("could not release the run's claim; the reclaim sweep will")
	}
}

// requeue records a retryable failure; the run waits in queued until the
// queue delivers the retry. next_attempt_at says when that is due, so the
// sweep can tell a waiting run from a lost one.
func (e *Executor) requeue(ctx context.Context, r Run, msg string, wait time.Duration) error {
	next := e.now().Add(wait)
	ctx, cancel := detached(ctx)
	defer cancel()
	return e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) error { return requeueRun(ctx, q, r, msg, next) })
}

// finish moves the run to a terminal status; skipped lists the steps a
// condition stopped, recorded as skipped from position first on.
func (e *Executor) finish(ctx context.Context, r Run, status Status, msg *string, skipped []workflow.Step, first int) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	var owned, notify bool
	end := func(q postgres.Querier) (err error) {
		owned, notify, err = finishRun(ctx, q, r, status, msg)
		if err != nil || !owned {
			return err
		}
		for i, s := range skipped {
			rec := StepRecord{RunID: r.ID, Position: first + i, Name: s.Name, Type: s.Type, Status: StepSkipped, Attempt: r.Attempt}
			if _, err := writeStep(ctx, q, r.TenantID, rec, false, false); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if len(skipped) == 0 { // the run row alone: one statement, one round trip
		err = end(e.DB)
	} else {
		err = e.DB.InTenantTx(ctx, r.TenantID, end)
	}
	if err != nil || !owned {
		return err
	}
	e.notifyFinished(ctx, r, notify)
	if e.Metrics != nil {
		// From the run's own intake (its row's creation): a replay keeps
		// the original delivery's received_at, which may be weeks old.
		e.Metrics.RunFinished(string(status), e.now().Sub(r.CreatedAt))
	}
	e.nudgeNext(ctx, r)
	level := zerolog.InfoLevel
	if status != Succeeded {
		level = zerolog.WarnLevel
	}
	logging.From(ctx).WithLevel(level).Str("status", string(status)).Dur("total", e.now().Sub(r.CreatedAt)).Msg("run finished")
	return nil
}

// Bury marks a run dead whatever its attempt: the queue is about to give up
// on its task (last delivery failed outside the step loop, e.g. a panic or
// an unreachable database), and a run must never stay queued or running with
// no task left to move it.
func (e *Executor) Bury(ctx context.Context, tenantID, id uuid.UUID, msg string) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	err := e.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) error { return buryRun(ctx, q, tenantID, id, msg) })
	if err != nil {
		return err
	}
	logging.From(ctx).Warn().Str("error", msg).Msg("run dead: the queue gave up on it")
	return fmt.Errorf("run %s: %s: %w", id, msg, ErrExhausted)
}

// writeTimeout bounds the writes that must land even when the run's own
// context is gone (shutdown, task timeout).
const writeTimeout = 10 * time.Second

func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
}

func (e *Executor) observeStep(typ, outcome string, d time.Duration) {
	if e.Metrics == nil {
		return
	}
	e.Metrics.StepDuration.WithLabelValues(typ, outcome).Observe(d.Seconds())
}

func (e *Executor) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// triggerEnv is what expressions see of the trigger and the run.
func triggerEnv(r Run) step.Env {
	delivery := ""
	if r.DeliveryID != nil {
		delivery = *r.DeliveryID
	}
	return step.Env{
		"trigger": map[string]any{
			"body":        parseBody(r.Body, r.ContentType),
			"raw":         string(r.Body),
			"headers":     map[string]string(r.Headers),
			"query":       map[string]string(r.Query),
			"received_at": r.ReceivedAt.UTC().Format(time.RFC3339Nano),
			"delivery_id": delivery,
		},
		"steps": map[string]any{},
		"run":   map[string]any{"id": r.ID.String(), "attempt": r.Attempt, "workflow_version": r.WorkflowVersion},
	}
}

// parseBody exposes a body to expressions as data where it has a structure
// AIAS knows: JSON (by content type, or sniffed when none is given) and HTML
// form encoding (Slack and older senders). Anything else, or a body that
// does not parse, is nil; trigger.raw always has the bytes.
func parseBody(body []byte, contentType string) any {
	if len(body) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		return parseForm(body)
	case mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil
		}
		return v
	}
	return nil
}

// parseForm maps each field to its value, or to a list when repeated.
func parseForm(body []byte) any {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil
	}
	out := make(map[string]any, len(vals))
	for k, vs := range vals {
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		out[k] = list
	}
	return out
}

func decodeJSON(b json.RawMessage) any {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}
