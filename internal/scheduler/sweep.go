// Package scheduler runs AIAS's periodic duties, on every replica: the
// re-enqueue sweep, which makes "Redis lost it" a delay instead of a loss;
// the sweep of pending on_finish notifications (notify.go); the release of
// held runs as the quota allows (held.go); the end of billing grace; the
// plans' retention (retention.go); and the reconciliation of the usage
// counters in Redis with Postgres (usage.go). Cron-scheduled workflows are
// started by the one replica holding the "cron" lease (cron.go, lease.go).
//
// The sweep asks Postgres (the record) for runs that should be in the queue
// and may not be — queued past their grace period or past a due retry, or
// running with no progress for too long — and makes sure each has a task.
// The queue's task-id uniqueness turns a run that is in fact queued into a
// no-op, so the sweep is safe to run on several replicas at once. Successive
// sweeps continue where the last batch ended, so a large backlog of runs
// that are legitimately waiting cannot hide a lost one behind it.
package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/entitlement"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/run"
	"aias/internal/telemetry"
)

// Queue is what the scheduler needs of the work queue.
type Queue interface {
	Ensure(ctx context.Context, tenantID, runID uuid.UUID) (queue.Presence, error)
	Revive(ctx context.Context, tenantID, runID uuid.UUID) error
	Reclaim(ctx context.Context, tenantID, runID uuid.UUID, why string) error
	EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) error
}

// Options configure the sweep.
type Options struct {
	Interval     time.Duration // between sweeps
	QueuedGrace  time.Duration // a queued run this old is checked against the queue
	RunningStale time.Duration // a running run idle this long is handed back
	// ReclaimAfter: a running run whose heartbeat has been silent this long
	// is given to a new task (reclaim.go), checked every ReclaimInterval;
	// zero: no reclaim, RunningStale alone.
	ReclaimAfter    time.Duration
	ReclaimInterval time.Duration
	BatchSize       int
	// PassTimeout bounds each pass; zero: three Intervals, at least 30s.
	PassTimeout time.Duration
	Log         zerolog.Logger
	Metrics     *telemetry.Metrics    // optional
	Admitter    *entitlement.Admitter // optional: release held runs as the quota allows, retention, usage counters
	Billing     GraceExpirer          // optional: drop tenants whose payment grace ended
}

// GraceExpirer ends the plans of tenants whose payment grace has passed.
type GraceExpirer interface {
	ExpireGrace(ctx context.Context) (int, error)
}

// Scheduler runs the sweep on a timer.
type Scheduler struct {
	db    *postgres.DB
	queue Queue
	admit *entitlement.Admitter
	opt   Options
	after cursor // where the next sweep continues
	// active holds the queued runs a sweep found with an active task, by
	// run: when it saw them so, and their updated_at then (reclaim.go).
	active map[uuid.UUID]sighting
}

type cursor struct {
	UpdatedAt time.Time
	ID        uuid.UUID
}

// New builds a scheduler.
func New(db *postgres.DB, q Queue, o Options) *Scheduler {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Metrics != nil { // telemetry.SweepNames does not list it: its series exist from the start too
		o.Metrics.Sweeps.WithLabelValues(SweepNotify, "ok")
		o.Metrics.Sweeps.WithLabelValues(SweepNotify, "error")
	}
	return &Scheduler{db: db, queue: q, admit: o.Admitter, opt: o, active: map[uuid.UUID]sighting{}}
}

// retentionEvery spaces retention passes: deleting is cheap to postpone.
const retentionEvery = 10 * time.Minute

// Run sweeps every Interval until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	s.opt.Log.Info().Dur("interval", s.opt.Interval).Msg("scheduler started")
	t := time.NewTicker(s.opt.Interval)
	defer t.Stop()
	reclaimed := make(chan struct{})
	go func() { s.runReclaim(ctx); close(reclaimed) }()
	defer func() { <-reclaimed }()
	var lastRetention time.Time
	for {
		if time.Since(lastRetention) >= retentionEvery {
			// These walk every tenant from the first: a deadline of a few
			// intervals would cut them at the same tenant every time.
			long := max(s.passTimeout(), retentionEvery)
			s.passWithin(ctx, long, telemetry.SweepRetention, "retention failed; next pass retries",
				func(ctx context.Context) (int, error) { return s.ApplyRetention(ctx, time.Now()) })
			s.passWithin(ctx, long, telemetry.SweepUsage, "reconciling usage counters failed; next pass retries",
				func(ctx context.Context) (int, error) { return s.ReconcileUsage(ctx, time.Now()) })
			lastRetention = time.Now()
		}
		s.pass(ctx, telemetry.SweepRequeue, "sweep failed; next tick retries", func(ctx context.Context) (int, error) {
			res, err := s.Sweep(ctx)
			return res.Enqueued + res.Revived + res.Reclaimed, err
		})
		s.sweepNotices(ctx)
		s.pass(ctx, telemetry.SweepHeld, "releasing held runs failed; next tick retries",
			func(ctx context.Context) (int, error) { return s.ReleaseHeld(ctx, time.Now()) })
		if s.opt.Billing != nil {
			n := s.pass(ctx, telemetry.SweepGrace, "expiring billing grace failed; next tick retries",
				func(ctx context.Context) (int, error) { return s.opt.Billing.ExpireGrace(ctx) })
			if n > 0 {
				s.opt.Log.Info().Int("tenants", n).Msg("payment grace ended: tenants moved to the default plan")
			}
		}
		select {
		case <-ctx.Done():
			s.opt.Log.Info().Msg("scheduler stopped")
			return nil
		case <-t.C:
		}
	}
}

// pass runs one sweep under its deadline (passTimeout), reports it as
// metrics and logs a failure (unless the scheduler is stopping); it
// returns what the sweep acted on.
func (s *Scheduler) pass(ctx context.Context, sweep, failed string, run func(context.Context) (int, error)) int {
	return s.passWithin(ctx, s.passTimeout(), sweep, failed, run)
}

// passWithin is pass with a deadline of d.
func (s *Scheduler) passWithin(ctx context.Context, d time.Duration, sweep, failed string, run func(context.Context) (int, error)) int {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n, err := run(pctx)
	s.opt.Metrics.Swept(sweep, n, err)
	if err != nil && ctx.Err() == nil {
		s.opt.Log.Warn().Err(err).Msg(failed)
	}
	return n
}

// minPassTimeout is the shortest deadline of a pass.
const minPassTimeout = 30 * time.Second

// passTimeout bounds one pass: a few intervals, so that a call that hangs
// (a pool connection that never comes, a Redis that froze) fails the pass
// and the loop goes on to the others, instead of every later pass waiting
// behind it.
func (s *Scheduler) passTimeout() time.Duration {
	if s.opt.PassTimeout > 0 {
		return s.opt.PassTimeout
	}
	return max(3*s.opt.Interval, minPassTimeout)
}

// SweepResult says what one sweep did.
type SweepResult struct {
	Candidates int // runs that may have been missing from the queue
	Enqueued   int // were missing, and now have a task
	Present    int // had a live task already
	Revived    int // had only an archived task although unfinished
	Reclaimed  int // had an active task that never claimed it (reclaim.go)
	Failed     int // left unchecked: the queue failed at the first of them (Redis down); the next sweep retries
}

type candidate struct {
	ID        uuid.UUID  `db:"id"`
	TenantID  uuid.UUID  `db:"tenant_id"`
	Status    run.Status `db:"status"`
	UpdatedAt time.Time  `db:"updated_at"`
}

// Sweep checks one batch of candidates against the queue. It stops at the
// first queue error: with Redis away or frozen every further candidate
// would cost the queue client's timeout (seconds each, minutes a batch)
// while the scheduler's other passes wait. The error fails the pass, and
// the next sweep starts at the candidate that failed.
func (s *Scheduler) Sweep(ctx context.Context) (SweepResult, error) {
	var cs []candidate
	const q = `SELECT id, tenant_id, status, updated_at FROM aias_sweep_candidates($1, $2, $3, $4, $5)`
	err := s.db.SelectContext(ctx, &cs, q, interval(s.opt.QueuedGrace), interval(s.opt.RunningStale),
		s.after.UpdatedAt, s.after.ID, s.opt.BatchSize)
	if err != nil {
		return SweepResult{}, fmt.Errorf("find sweep candidates: %w", postgres.Classify(err))
	}
	res := SweepResult{Candidates: len(cs)}
	for i, c := range cs {
		if err := s.check(ctx, c, &res); err != nil {
			res.Failed = len(cs) - i
			s.stoppedAt(cs, i)
			s.report(res)
			return res, fmt.Errorf("sweep stopped at run %s, %d candidates unchecked: %w", c.ID, res.Failed, err)
		}
	}
	s.advance(cs)
	s.forgetSightings(time.Now())
	s.report(res)
	return res, nil
}

// advance moves the cursor past this batch, or back to the start after a
// short batch, so every candidate is visited within a few sweeps.
func (s *Scheduler) advance(cs []candidate) {
	if len(cs) < s.opt.BatchSize {
		s.after = cursor{}
		return
	}
	last := cs[len(cs)-1]
	s.after = cursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
}

// stoppedAt moves the cursor up to cs[i], the candidate a sweep stopped
// at, so the next sweep starts with it.
func (s *Scheduler) stoppedAt(cs []candidate, i int) {
	if i > 0 {
		s.after = cursor{UpdatedAt: cs[i-1].UpdatedAt, ID: cs[i-1].ID}
	}
}

// check makes sure c has a task; an error is the queue's.
func (s *Scheduler) check(ctx context.Context, c candidate, res *SweepResult) error {
	p, err := s.queue.Ensure(ctx, c.TenantID, c.ID)
	if err != nil {
		return err
	}
	switch p {
	case queue.Enqueued:
		res.Enqueued++
	case queue.Present:
		res.Present++
	case queue.Active:
		res.Present++
		return s.orphaned(ctx, c, res)
	case queue.Archived:
		return s.revive(ctx, c, res)
	}
	return nil
}

// revive replaces the archived task of a run that is still unfinished. The
// run is read again first: it may have died (and been archived) a moment
// after it was listed, and a dead run's archived task must stay.
func (s *Scheduler) revive(ctx context.Context, c candidate, res *SweepResult) error {
	var st run.Status
	err := s.db.InTenantTx(ctx, c.TenantID, func(q postgres.Querier) error {
		return q.GetContext(ctx, &st, `SELECT status FROM runs WHERE id = $1 AND tenant_id = $2`, c.ID, c.TenantID)
	})
	if err != nil || st.Terminal() {
		return nil // unreadable now: the next sweep finds the run again
	}
	if err := s.queue.Revive(ctx, c.TenantID, c.ID); err != nil {
		return err
	}
	res.Revived++
	s.opt.Log.Warn().Str("run_id", c.ID.String()).Msg("sweep revived a run whose task was archived before it finished")
	return nil
}

func (s *Scheduler) report(res SweepResult) {
	if s.opt.Metrics != nil {
		s.opt.Metrics.SweepReenqueued.Add(float64(res.Enqueued + res.Revived + res.Reclaimed))
	}
	if res.Enqueued+res.Revived+res.Reclaimed+res.Failed > 0 {
		s.opt.Log.Info().Int("candidates", res.Candidates).Int("enqueued", res.Enqueued).Int("present", res.Present).
			Int("revived", res.Revived).Int("reclaimed", res.Reclaimed).Int("failed", res.Failed).Msg("sweep")
	}
}

func interval(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }
