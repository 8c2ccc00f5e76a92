package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"aias/internal/logging"
	"aias/internal/step"
	"aias/internal/telemetry"
	"aias/internal/workflow"
)

// The walk: a run's steps form a tree (switch branches, foreach bodies). The
// executor walks it in a fixed order, numbering every step it reaches —
// each foreach iteration's body steps get numbers of their own — and the
// number is the step record's position. A step with a succeeded record at
// its position is not run again: its recorded output is reused, including
// the branch a switch chose, the items a foreach iterates and the time a
// delay waits for (flow.go: the control nodes). Given the same definition,
// trigger and records, the walk takes the same path, which is what lets a
// retry resume after the last committed step.

// errStopped ends the walk: a condition stopped the run (successfully).
var errStopped = errors.New("stopped by a condition")

// stepFailure is a step attempt that failed, with the step's failed tries
// so far (its own retry budget).
type stepFailure struct {
	step  workflow.Step
	tries int
	err   error
}

func (f *stepFailure) Error() string { return fmt.Sprintf("step %s: %v", f.step.Name, f.err) }
func (f *stepFailure) Unwrap() error { return f.err }

type walker struct {
	e     *Executor
	r     Run
	def   workflow.Definition
	deps  step.Deps
	done  map[int]StepRecord // succeeded records by position
	base  context.Context    // the delivery's: its end is an interruption, not a failure
	limit int                // the tenant's concurrency, to refresh its slot
	// leased is when the run's slot was last taken or refreshed.
	leased time.Time
	// maxItems is the plan's bound on a foreach list (0: plan.DefaultForeachItems).
	maxItems int
	pos      int // the next position
	// skipped are the steps a stop left unrun, recorded as skipped.
	skipped []workflow.Step
	// parked is set by the commit of a delay step that parked the run.
	parked bool
	// trial, when set, keeps what the walk does in memory instead of the
	// run's rows: a test run of a definition that has no run (trial.go).
	trial *trialLedger
}

// walk runs a list of steps in order.
func (w *walker) walk(ctx context.Context, steps []workflow.Step, env step.Env) error {
	for i, s := range steps {
		if err := w.step(ctx, s, env); err != nil {
			if errors.Is(err, errStopped) {
				w.skipped = append(w.skipped, steps[i+1:]...)
			}
			return err
		}
	}
	return nil
}

// step runs (or replays from its record) one step, and the steps inside it:
// a control node continues the walk from its output (flow.go), a step's
// output is visible to the steps after it.
func (w *walker) step(ctx context.Context, s workflow.Step, env step.Env) error {
	pos := w.pos
	w.pos++
	out, fresh, err := w.outputOf(ctx, pos, s, env)
	if err != nil {
		return err
	}
	if n, ok := nodes[s.Kind()]; ok {
		return n.next(ctx, w, s, out, fresh, env)
	}
	record(env, s, out)
	return nil
}

// outputOf returns the step's recorded output, or runs the step and
// returns what it committed (fresh).
func (w *walker) outputOf(ctx context.Context, pos int, s workflow.Step, env step.Env) (out any, fresh bool, err error) {
	if rec, ok := w.done[pos]; ok {
		switch {
		case rec.Name != s.Name || rec.Type != s.Type:
			// Left by another version of the workflow (a redrive on the
			// current version), succeeded or failed: from here on, the
			// records do not apply, and a new step must not inherit an
			// old one's name or failures.
			if err := w.forgetFrom(ctx, pos); err != nil {
				return nil, false, err
			}
		case rec.Status == StepSucceeded:
			return decodeJSON(rec.Output), false, nil
		}
		// Otherwise a failed attempt of this very step: it runs again,
		// and its failures count on.
	}
	res, committed, err := w.run(ctx, pos, s, env)
	if err != nil {
		return nil, true, err
	}
	if _, ok := nodes[s.Kind()]; ok {
		// A control node reads its own output back: give it the shape a
		// recorded output has (JSON numbers as float64), from the
		// committed bytes.
		return decodeJSON(committed), true, nil
	}
	return res.Output, true, nil
}

// run executes one attempt of one step and commits its record (and
// artifacts) when it succeeds; a failed attempt's record is written too,
// counting the failure against the step's budget unless the delivery was
// interrupted. It returns the output's committed JSON too.
func (w *walker) run(ctx context.Context, pos int, s workflow.Step, env step.Env) (step.Result, json.RawMessage, error) {
	e := w.e
	log := logging.From(w.base).With().Str("step", s.Name).Logger()
	if now := e.now(); e.Slots.RefreshDue(w.leased, now) {
		e.Slots.Acquire(ctx, w.r.TenantID, w.r.ID, w.limit) // refresh the slot's lease
		w.leased = now
	}
	env["step"] = map[string]any{"name": s.Name, "instance": s.Name + iterationOf(env)}
	started := e.now()
	sctx, span := telemetry.StartStep(ctx, s.Name, s.Type)
	res, err := w.attempt(logging.With(sctx, log), s, env)
	if err == nil {
		// Before anything of the result is redacted, encoded or stored.
		if err = step.CheckResult(res); err != nil {
			res = step.Result{}
		}
	}
	res, err = redact(w.deps.Redactor, res, err)
	outcome := stepOutcome(err)
	telemetry.EndStep(span, outcome, err) // the error as redacted
	finished := e.now()
	e.observeStep(s.Type, outcome, finished.Sub(started))
	rec := StepRecord{RunID: w.r.ID, Position: pos, Name: s.Name, Type: s.Type, Attempt: w.r.Attempt,
		StartedAt: &started, FinishedAt: &finished, DurationMS: finished.Sub(started).Milliseconds(),
		Logs: json.RawMessage("[]")}
	if len(res.Logs) > 0 {
		rec.Logs, _ = json.Marshal(res.Logs)
	}
	if errors.Is(err, errNotRunnable) {
		return res, nil, err // canceled or taken over: nothing of this run is ours to write
	}
	if err != nil {
		if cause := context.Cause(ctx); ctx.Err() != nil && w.base.Err() == nil {
			var rt errRunTimeout
			if errors.As(cause, &rt) {
				err = step.Permanent(rt)
			}
		}
		msg := err.Error()
		rec.Status, rec.Error = StepFailed, &msg
		tries, werr := w.writeFailed(rec)
		if errors.Is(werr, errNotRunnable) {
			return res, nil, werr
		}
		if werr != nil {
			log.Error().Err(werr).Msg("record failed step")
		}
		log.Warn().Err(err).Dur("duration", finished.Sub(started)).Msg("step failed")
		return res, nil, &stepFailure{step: s, tries: tries, err: err}
	}
	out, err := json.Marshal(res.Output)
	if err != nil {
		return res, nil, &stepFailure{step: s, err: step.Permanent(fmt.Errorf("step output is not JSON-encodable: %w", err))}
	}
	if n := len(out) + len(rec.Logs); n > step.MaxOutputBytes { // CheckResult's count leaves out escapes
		return res, nil, &stepFailure{step: s, err: step.Permanent(fmt.Errorf(
			"the step's output and log lines take more than %d MiB, the most a step may store (%d bytes as JSON); keep large data in an artifact",
			step.MaxOutputBytes>>20, n))}
	}
	rec.Status, rec.Output = StepSucceeded, out
	if err := w.commit(rec, res.Artifacts, res.Until); err != nil {
		if errors.Is(err, errNotRunnable) {
			return res, nil, err
		}
		if serr := storeError(err); step.IsPermanent(serr) {
			return res, nil, &stepFailure{step: s, err: serr}
		}
		return res, nil, err
	}
	log.Info().Dur("duration", finished.Sub(started)).Msg("step succeeded")
	return res, out, nil
}

// forgetFrom drops the run's records from position pos on.
func (w *walker) forgetFrom(ctx context.Context, pos int) error {
	if err := w.e.forgetFrom(ctx, w.r, pos); err != nil {
		return err
	}
	for p := range w.done {
		if p >= pos {
			delete(w.done, p)
		}
	}
	return nil
}

// attempt runs the step (its type, or its control node) under the step's
// timeout and the run's watch: a canceled run cancels the step's context.
// The step's expressions share one budget (step.WithBudget). A panic in a
// step is a retryable failure of that step, not of the worker.
func (w *walker) attempt(ctx context.Context, s workflow.Step, env step.Env) (res step.Result, err error) {
	ctx = step.WithBudget(ctx)
	run, ok := w.runner(s)
	if !ok {
		return res, step.Permanent(fmt.Errorf("unknown step type %q", s.Type))
	}
	if d, perr := time.ParseDuration(s.Timeout); s.Timeout != "" && perr == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, fmt.Errorf("step timed out after %s", d))
		defer cancel()
		ctx = step.WithAttemptTimeout(ctx, d)
	}
	ctx, stop := w.watch(ctx)
	defer stop()
	defer func() {
		if v := recover(); v != nil {
			logging.From(ctx).Error().Interface("panic", v).Stack().Msg("step panicked")
			res, err = step.Result{}, fmt.Errorf("step panicked: %v", v)
		}
	}()
	res, err = run(ctx, env)
	if err == nil || ctx.Err() == nil {
		return res, err
	}
	// The context ended the step: say why (a step timeout, the run's
	// timeout, a cancel), unless the step's error already does.
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errNotRunnable):
		return res, cause
	case errors.Is(err, cause) || errors.Is(cause, ctx.Err()):
		return res, err
	}
	return res, fmt.Errorf("%w: %w", cause, err)
}

// commit writes a succeeded step (executor.go's commitStep), or keeps it
// in the trial's ledger.
func (w *walker) commit(rec StepRecord, arts []step.Artifact, until time.Time) error {
	if w.trial != nil {
		w.trial.add(rec, arts)
		return nil
	}
	if err := w.e.commitStep(w.base, w.r, rec, arts, until); err != nil {
		return err
	}
	w.parked = !until.IsZero()
	return nil
}

// writeFailed records a failed attempt and returns the step's failed
// attempts; a trial keeps it and tries no step twice.
func (w *walker) writeFailed(rec StepRecord) (int, error) {
	if w.trial != nil {
		w.trial.add(rec, nil)
		return 1, nil
	}
	return w.e.writeFailedStep(w.base, w.r, rec, w.base.Err() == nil)
}

// watch keeps the run's heartbeat and its concurrency slot while a step
// runs, and cancels the step when the run is canceled (watch.go). A trial
// has no run to watch: its request's context is its only end.
func (w *walker) watch(ctx context.Context) (context.Context, func()) {
	if w.trial != nil {
		return ctx, func() {}
	}
	return w.e.watch(ctx, w.r, func(ctx context.Context) {
		w.e.Slots.Acquire(ctx, w.r.TenantID, w.r.ID, w.limit)
	})
}
