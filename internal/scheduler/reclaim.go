package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/telemetry"
)

// Reclaim: a run whose worker died continues within seconds.
//
// A worker touches a running run every AIAS_RUN_HEARTBEAT while a step is
// in flight and writes it as each step ends, so a running run left alone
// for ReclaimAfter (three heartbeats by default) has lost its worker. Its
// queue task does not come back by itself before the queue's lease runs out
// and its recoverer passes (about a minute): the scheduler enqueues a task
// of its own id for the run instead (queue.ReclaimTaskID), whose claim
// starts a new attempt. The attempt fences every write of the dead
// delivery, were it only slow; and when the queue hands the old task out
// again, its claim finds the run held by the new task and skips
// (aias_claim_run). A task that Redis lost the answer of as a worker took
// it (Redis frozen mid-dequeue) stays active without ever claiming its run:
// the sweep gives such a run a reclaim task too (orphaned).

type reclaimCandidate struct {
	ID       uuid.UUID `db:"id"`
	TenantID uuid.UUID `db:"tenant_id"`
	Attempt  int       `db:"attempt"`
	SilentMS int64     `db:"silent_ms"`
}

// reclaimAgainEvery: a run still silent this many ReclaimAfters after its
// reclaim gets another task (the first may be stuck with a worker that
// took it and froze), one per period.
const reclaimAgainEvery = 4

// runReclaim reclaims every ReclaimInterval until ctx is done.
func (s *Scheduler) runReclaim(ctx context.Context) {
	if s.opt.ReclaimAfter <= 0 || s.opt.ReclaimInterval <= 0 {
		return
	}
	t := time.NewTicker(s.opt.ReclaimInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.pass(ctx, telemetry.SweepReclaim, "reclaiming runs failed; next tick retries", s.Reclaim)
	}
}

// Reclaim gives each running run silent for ReclaimAfter a new task, and
// returns how many it gave one.
func (s *Scheduler) Reclaim(ctx context.Context) (int, error) {
	var cs []reclaimCandidate
	err := s.db.SelectContext(ctx, &cs, `SELECT id, tenant_id, attempt, silent_ms FROM aias_reclaim_candidates($1, $2)`,
		interval(s.opt.ReclaimAfter), s.opt.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("find runs to reclaim: %w", postgres.Classify(err))
	}
	n := 0
	for _, c := range cs {
		round := time.Duration(c.SilentMS) * time.Millisecond / (reclaimAgainEvery * s.opt.ReclaimAfter)
		why := "attempt-" + strconv.Itoa(c.Attempt) + "-" + strconv.FormatInt(int64(round), 10)
		if err := s.queue.Reclaim(ctx, c.TenantID, c.ID, why); err != nil {
			return n, err
		}
		n++
		s.opt.Log.Warn().Str("run_id", c.ID.String()).Int("attempt", c.Attempt).Dur("silent_for", s.opt.ReclaimAfter).
			Msg("reclaimed a running run whose worker stopped: a new task continues it")
	}
	if n > 0 && s.opt.Metrics != nil {
		s.opt.Metrics.SweepReenqueued.Add(float64(n))
	}
	return n, nil
}

type sighting struct {
	at        time.Time // the sweep that first saw the task active
	updatedAt time.Time // the run's updated_at then
}

// stillActive reports whether c's task was already active, with the run
// unchanged since, at a sweep at least QueuedGrace ago. One sighting is not
// enough: the grace counts from the run's last change, and a task can turn
// active a moment before its worker claims the run — a retry handed out
// right after its backoff, on a machine slow enough that the claim takes a
// second (seen: a run reclaimed between its two attempts).
func (s *Scheduler) stillActive(c candidate, now time.Time) bool {
	seen, ok := s.active[c.ID]
	if !ok || !seen.updatedAt.Equal(c.UpdatedAt) {
		s.active[c.ID] = sighting{at: now, updatedAt: c.UpdatedAt}
		return false
	}
	if now.Sub(seen.at) < s.opt.QueuedGrace {
		return false
	}
	delete(s.active, c.ID)
	return true
}

// forgetSightings drops sightings no sweep has confirmed for long: their
// runs were claimed or finished, and are candidates no more.
func (s *Scheduler) forgetSightings(now time.Time) {
	for id, seen := range s.active {
		if now.Sub(seen.at) > 10*s.opt.QueuedGrace+time.Minute {
			delete(s.active, id)
		}
	}
}

// orphaned reclaims a queued or delayed run whose task is active: a worker
// took the task (or Redis recorded it as taken) yet the run was never
// claimed: still unchanged and active at two sweeps the grace apart.
func (s *Scheduler) orphaned(ctx context.Context, c candidate, res *SweepResult) error {
	if s.opt.ReclaimAfter <= 0 || c.Status == run.Running || !s.stillActive(c, time.Now()) {
		return nil
	}
	why := "orphan-" + strconv.FormatInt(c.UpdatedAt.UnixMilli(), 10)
	if err := s.queue.Reclaim(ctx, c.TenantID, c.ID, why); err != nil {
		return err
	}
	res.Reclaimed++
	s.opt.Log.Warn().Str("run_id", c.ID.String()).
		Msg("reclaimed a run whose task is active but never claimed it (lost in a Redis stall): a new task continues it")
	return nil
}
