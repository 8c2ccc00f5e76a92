package scheduler

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/queue"
)

// NotifyQueue is what re-enqueueing on_finish notifications needs of the
// queue; a queue without it (a test double) leaves them to the executor.
type NotifyQueue interface {
	EnsureNotify(ctx context.Context, tenantID, runID uuid.UUID) (queue.Presence, error)
}

// NoticeResult says what one pass over pending notifications did.
type NoticeResult struct {
	Candidates int // pending notifications that were due
	Enqueued   int // had no task, and now have one
	Revived    int // had only an archived task (asynq gave up on them), now replaced
	Failed     int // left unchecked: the queue failed at the first of them (Redis down); the next pass retries
}

// SweepNotify names the notification sweep in aias_sweeps_total.
const SweepNotify = "notify"

// SweepNotices makes sure every pending, due on_finish notification has a
// run:notify task. The task id derives from the run id, so a notification
// already queued, retrying or being delivered is left as it is; one whose
// task was archived (its last delivery could not record the outcome) gets
// a new task, or it would stay pending for good and, among the oldest
// due, crowd every other notification out of the batch. Pending
// notifications that nothing enqueued — the worker crashed after the run
// finished, a run canceled through the API, Redis lost — are sent this way.
func (s *Scheduler) SweepNotices(ctx context.Context) (NoticeResult, error) {
	nq, ok := s.queue.(NotifyQueue)
	if !ok {
		return NoticeResult{}, nil
	}
	var cs []struct {
		ID       uuid.UUID `db:"id"`
		TenantID uuid.UUID `db:"tenant_id"`
	}
	if err := s.db.SelectContext(ctx, &cs, `SELECT id, tenant_id FROM aias_notify_candidates($1)`, s.opt.BatchSize); err != nil {
		return NoticeResult{}, fmt.Errorf("find pending notifications: %w", postgres.Classify(err))
	}
	res := NoticeResult{Candidates: len(cs)}
	for i, c := range cs {
		p, err := nq.EnsureNotify(ctx, c.TenantID, c.ID)
		if err != nil { // Redis away: each further one would cost a timeout
			res.Failed = len(cs) - i
			return res, fmt.Errorf("%d pending notifications not enqueued: %w", res.Failed, err)
		}
		switch p {
		case queue.Enqueued:
			res.Enqueued++
		case queue.Archived:
			res.Revived++
			s.opt.Log.Warn().Str("run_id", c.ID.String()).
				Msg("sweep re-enqueued a pending on_finish notification whose task was archived")
		}
	}
	return res, nil
}

// sweepNotices is SweepNotices as a pass of the scheduler's loop.
func (s *Scheduler) sweepNotices(ctx context.Context) {
	s.pass(ctx, SweepNotify, "sweeping on_finish notifications failed; next tick retries", func(ctx context.Context) (int, error) {
		res, err := s.SweepNotices(ctx)
		return res.Enqueued + res.Revived, err
	})
}
