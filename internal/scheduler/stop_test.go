package scheduler_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"aias/internal/entitlement"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/run"
	"aias/internal/scheduler"
	"aias/internal/telemetry"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

// awayQueue is the bundle's queue with a switch: while down, every call
// fails, as each would after the queue client's timeout with Redis away.
// Calls are counted either way.
type awayQueue struct {
	*queue.Client
	down  atomic.Bool
	calls atomic.Int32
}

var errRedisAway = errors.New("redis: i/o timeout")

func (q *awayQueue) call() error {
	q.calls.Add(1)
	if q.down.Load() {
		return errRedisAway
	}
	return nil
}

func (q *awayQueue) Ensure(ctx context.Context, tenantID, runID uuid.UUID) (queue.Presence, error) {
	if err := q.call(); err != nil {
		return 0, err
	}
	return q.Client.Ensure(ctx, tenantID, runID)
}

func (q *awayQueue) Revive(ctx context.Context, tenantID, runID uuid.UUID) error {
	if err := q.call(); err != nil {
		return err
	}
	return q.Client.Revive(ctx, tenantID, runID)
}

func (q *awayQueue) Reclaim(ctx context.Context, tenantID, runID uuid.UUID, why string) error {
	if err := q.call(); err != nil {
		return err
	}
	return q.Client.Reclaim(ctx, tenantID, runID, why)
}

func (q *awayQueue) EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) error {
	if err := q.call(); err != nil {
		return err
	}
	return q.Client.EnqueueRun(ctx, tenantID, runID, maxAttempts)
}

func (q *awayQueue) EnsureNotify(ctx context.Context, tenantID, runID uuid.UUID) (queue.Presence, error) {
	if err := q.call(); err != nil {
		return 0, err
	}
	return q.Client.EnsureNotify(ctx, tenantID, runID)
}

// withAwayQueue is a scheduler over the bundle with its queue behind a
// switch (down from the start), and metrics.
func withAwayQueue(t *testing.T, b bundle, batch int) (*scheduler.Scheduler, *awayQueue, *telemetry.Metrics) {
	t.Helper()
	q, m := &awayQueue{Client: b.queue}, telemetry.New()
	q.down.Store(true)
	rdb := redistest.Client(t, b.redis) // the quota's counters, which releasing held runs drops
	sch := scheduler.New(b.db.DB, q, scheduler.Options{Interval: time.Hour, QueuedGrace: 0, RunningStale: time.Minute,
		BatchSize: batch, Log: logging.Nop(), Metrics: m,
		Admitter: &entitlement.Admitter{Plans: entitlement.Checker{Plans: plan.Default()}, Quota: &entitlement.Quota{Redis: rdb}}})
	return sch, q, m
}

// With Redis away a sweep pays the queue's timeout once, not once per
// candidate, and fails; the next sweep starts with the candidate that
// failed, not past the batch.
func TestSweepStopsAtTheFirstQueueErrorAndResumesThere(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	first := b.insertRun(t, run.Queued, 3*time.Minute)
	second := b.insertRun(t, run.Queued, 2*time.Minute)
	b.insertRun(t, run.Queued, time.Minute)
	sch, q, _ := withAwayQueue(t, b, 2)
	res, err := sch.Sweep(ctx)
	if !errors.Is(err, errRedisAway) || q.calls.Load() != 1 || res.Failed != 2 {
		t.Fatalf("Sweep with Redis away = %+v, %v after %d queue calls; want the error after 1 call, 2 runs unchecked",
			res, err, q.calls.Load())
	}
	q.down.Store(false)
	if res, err := sch.Sweep(ctx); err != nil || res.Enqueued != 2 {
		t.Fatalf("Sweep once Redis is back = %+v, %v; want the batch that failed enqueued", res, err)
	}
	if !b.queued(t, first) || !b.queued(t, second) {
		t.Errorf("queued after Redis came back: first %v, second %v; want both", b.queued(t, first), b.queued(t, second))
	}
}

// The notification sweep and the release of held runs stop at the first
// queue error too, and the scheduler's loop counts each such pass as
// failed in aias_sweeps_total, the requeue sweep included.
func TestPassesStopAtTheFirstQueueErrorAndCountAsFailed(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	for range 3 {
		b.finishedWithNotice(t, run.Failed)
		b.exec(t, `UPDATE runs SET status = 'held' WHERE id = $1`, b.insertRun(t, run.Queued, time.Second))
		b.insertRun(t, run.Queued, time.Minute)
	}
	sch, q, m := withAwayQueue(t, b, 0)
	ctx := context.Background()
	if res, err := sch.SweepNotices(ctx); !errors.Is(err, errRedisAway) || q.calls.Load() != 1 || res.Failed != 3 {
		t.Fatalf("SweepNotices with Redis away = %+v, %v after %d queue calls; want the error after 1 call", res, err, q.calls.Load())
	}
	q.calls.Store(0)
	if n, err := sch.ReleaseHeld(ctx, time.Now()); !errors.Is(err, errRedisAway) || q.calls.Load() != 1 || n != 3 {
		t.Fatalf("ReleaseHeld with Redis away = %d, %v after %d queue calls; want 3 released, the error after 1 call", n, err, q.calls.Load())
	}

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	failed := func(sweep string) float64 { return promtest.ToFloat64(m.Sweeps.WithLabelValues(sweep, "error")) }
	for deadline := time.Now().Add(10 * time.Second); failed(telemetry.SweepRequeue) < 1 || failed(scheduler.SweepNotify) < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	cancel()
	<-done
	for _, sweep := range []string{telemetry.SweepRequeue, scheduler.SweepNotify} {
		if n := failed(sweep); n != 1 {
			t.Errorf("aias_sweeps_total{sweep=%q,outcome=\"error\"} = %v after one pass with Redis away, want 1", sweep, n)
		}
	}
}

// A pass that hangs (here: waiting for a pool connection that never
// comes, as behind a Postgres that froze) fails at its deadline, and the
// loop goes on to the next pass instead of every later one waiting behind it.
func TestAHungPassFailsAtItsDeadlineAndTheLoopGoesOn(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, b.db.AppURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	m := telemetry.New()
	sch := scheduler.New(db, b.queue, scheduler.Options{Interval: time.Hour, QueuedGrace: 0, RunningStale: time.Minute,
		PassTimeout: 200 * time.Millisecond, Log: logging.Nop(), Metrics: m})
	release := pgtest.HoldPool(t, db, 1)
	defer release()

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	failed := func(sweep string) float64 { return promtest.ToFloat64(m.Sweeps.WithLabelValues(sweep, "error")) }
	deadline := time.Now().Add(10 * time.Second)
	for failed(scheduler.SweepNotify) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	release()
	<-done
	if failed(telemetry.SweepRequeue) != 1 || failed(scheduler.SweepNotify) != 1 {
		t.Errorf("failed passes with the pool held: requeue %v, notify %v; want each to fail at its deadline, once",
			failed(telemetry.SweepRequeue), failed(scheduler.SweepNotify))
	}
}
