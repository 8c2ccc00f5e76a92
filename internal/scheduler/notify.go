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
	Failed     int // could not be enqueued (Redis down); the next pass retries
}

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
	for _, c := range cs {
		p, err := nq.EnsureNotify(ctx, c.TenantID, c.ID)
		if err != nil {
			res.Failed++
			continue
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

// sweepNotices is SweepNotices for the scheduler's loop: problems are
// logged, and the next tick tries again.
func (s *Scheduler) sweepNotices(ctx context.Context) {
	res, err := s.SweepNotices(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.opt.Log.Warn().Err(err).Msg("sweeping on_finish notifications failed; next tick retries")
	case res.Failed > 0:
		s.opt.Log.Warn().Int("pending", res.Candidates).Int("failed", res.Failed).
			Msg("on_finish notifications could not be enqueued; next tick retries")
	}
}
