// Package scheduler runs AIAS's periodic duties: today the re-enqueue sweep,
// which makes "Redis lost it" a delay instead of a loss.
//
// The sweep asks Postgres (the record) for runs that should be in the queue
// and may not be — queued past their grace period or past a due retry, or
// running with no progress for too long — and enqueues each by run id. The
// queue's task-id uniqueness turns a run that is in fact queued into a no-op,
// so the sweep is safe to run on several replicas at once.
package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/telemetry"
)

// Options configure the sweep.
type Options struct {
	Interval     time.Duration // between sweeps
	QueuedGrace  time.Duration // a queued run this old is checked against the queue
	RunningStale time.Duration // a running run idle this long is handed back
	BatchSize    int
	Log          zerolog.Logger
	Metrics      *telemetry.Metrics // optional
}

// Scheduler runs the sweep on a timer.
type Scheduler struct {
	db    *postgres.DB
	queue run.Enqueuer
	opt   Options
}

// New builds a scheduler.
func New(db *postgres.DB, q run.Enqueuer, o Options) *Scheduler {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	return &Scheduler{db: db, queue: q, opt: o}
}

// Run sweeps every Interval until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	s.opt.Log.Info().Dur("interval", s.opt.Interval).Msg("scheduler started")
	t := time.NewTicker(s.opt.Interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.opt.Log.Warn().Err(err).Msg("sweep failed; next tick retries")
		}
		select {
		case <-ctx.Done():
			s.opt.Log.Info().Msg("scheduler stopped")
			return nil
		case <-t.C:
		}
	}
}

// SweepResult says what one sweep did.
type SweepResult struct {
	Candidates int
	Enqueued   int
	Failed     int
}

type candidate struct {
	ID       uuid.UUID  `db:"id"`
	TenantID uuid.UUID  `db:"tenant_id"`
	Status   run.Status `db:"status"`
}

// Sweep re-enqueues every run that may be missing from the queue.
func (s *Scheduler) Sweep(ctx context.Context) (SweepResult, error) {
	var cs []candidate
	const q = `SELECT id, tenant_id, status FROM aias_sweep_candidates($1, $2, $3)`
	err := s.db.SelectContext(ctx, &cs, q, interval(s.opt.QueuedGrace), interval(s.opt.RunningStale), s.opt.BatchSize)
	if err != nil {
		return SweepResult{}, fmt.Errorf("find sweep candidates: %w", postgres.Classify(err))
	}
	res := SweepResult{Candidates: len(cs)}
	for _, c := range cs {
		// max_attempts only sizes asynq's backstop retry limit; the run's
		// own budget is enforced from its row.
		if err := s.queue.EnqueueRun(ctx, c.TenantID, c.ID, run.DefaultQueueAttempts); err != nil {
			res.Failed++
			if res.Failed == 1 {
				s.opt.Log.Warn().Err(err).Msg("sweep could not enqueue; will retry next tick")
			}
			continue
		}
		res.Enqueued++
	}
	if s.opt.Metrics != nil {
		s.opt.Metrics.SweepReenqueued.Add(float64(res.Enqueued))
	}
	if res.Candidates > 0 {
		s.opt.Log.Info().Int("candidates", res.Candidates).Int("enqueued", res.Enqueued).
			Int("failed", res.Failed).Msg("sweep")
	}
	return res, nil
}

func interval(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }
