package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/entitlement"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/run"
	"aias/internal/scheduler"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/workflow"
)

type bundle struct {
	db     *pgtest.DB
	queue  *queue.Client
	insp   *asynq.Inspector
	redis  string // the Redis URL of the queue
	tenant uuid.UUID
	wf     workflow.Workflow
}

func setup(t *testing.T) (*scheduler.Scheduler, bundle) {
	t.Helper()
	return setupBatch(t, 0)
}

func setupBatch(t *testing.T, batch int) (*scheduler.Scheduler, bundle) {
	t.Helper()
	db := pgtest.New(t)
	redisURL := redistest.New(t)
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewClient(opt)
	t.Cleanup(func() { _ = q.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = insp.Close() })
	ctx := context.Background()
	s, err := tenant.Create(ctx, db.DB, "ops@example.com", "ops")
	if err != nil {
		t.Fatal(err)
	}
	def, err := workflow.Decode([]byte(`{"name":"w","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow.Workflow
	err = db.InTenantTx(ctx, s.TenantID, func(tx postgres.Querier) (err error) {
		wf, err = workflow.Create(ctx, tx, s.TenantID, def)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sch := scheduler.New(db.DB, q, scheduler.Options{Interval: time.Hour, QueuedGrace: 0, RunningStale: time.Minute,
		BatchSize: batch, Log: logging.Nop(),
		Admitter: &entitlement.Admitter{Plans: entitlement.Checker{Plans: plan.Default()}, Quota: &entitlement.Quota{}}})
	return sch, bundle{db: db, queue: q, insp: insp, redis: redisURL, tenant: s.TenantID, wf: wf}
}

// insertRun stores a run as the intake would, with status and age set directly.
func (b bundle) insertRun(t *testing.T, status run.Status, age time.Duration) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	err := b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) (err error) {
		id, _, err = run.Insert(ctx, q, run.New{TenantID: b.tenant, WorkflowID: b.wf.ID, WorkflowVersion: 1,
			TriggerKind: run.TriggerManual, MaxAttempts: 3, Body: []byte(`{}`), ReceivedAt: time.Now()})
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE runs SET status = $2, updated_at = now() - $3::interval WHERE id = $1`,
			id, status, age.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b bundle) queued(t *testing.T, id uuid.UUID) bool {
	t.Helper()
	_, err := b.insp.GetTaskInfo(queue.QueueDefault, id.String())
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestSweepEnqueuesAQueuedRunMissingFromTheQueue(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	id := b.insertRun(t, run.Queued, time.Second)
	if b.queued(t, id) {
		t.Fatal("run is in the queue before the sweep; the test proves nothing")
	}
	res, err := sch.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Enqueued != 1 || !b.queued(t, id) {
		t.Errorf("Sweep = %+v, queued=%v; want the run enqueued", res, b.queued(t, id))
	}
	// A second sweep is a no-op for the queue: the task id is the run id.
	if _, err := sch.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := b.insp.GetQueueInfo(queue.QueueDefault)
	if err != nil || n.Pending != 1 {
		t.Errorf("pending tasks after two sweeps = %v (%v), want 1", n, err)
	}
}

func TestSweepHandsBackAStaleRunningRunButLeavesFreshOnes(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	stale := b.insertRun(t, run.Running, 2*time.Minute)
	fresh := b.insertRun(t, run.Running, time.Second)
	done := b.insertRun(t, run.Succeeded, time.Hour)
	if _, err := sch.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !b.queued(t, stale) {
		t.Error("stale running run was not handed back to the queue")
	}
	if b.queued(t, fresh) {
		t.Error("a running run with recent progress was enqueued a second time")
	}
	if b.queued(t, done) {
		t.Error("a finished run was enqueued")
	}
}

func TestSweepWaitsForADueRetry(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	id := b.insertRun(t, run.Queued, time.Second)
	ctx := context.Background()
	err := b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		_, err := q.ExecContext(ctx, `UPDATE runs SET next_attempt_at = now() + interval '1 hour' WHERE id = $1`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sch.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if b.queued(t, id) {
		t.Error("a run waiting for its retry was enqueued before the retry was due")
	}
}

func TestSweepWalksPastABacklogOfRunsThatAreQueued(t *testing.T) {
	t.Parallel()
	sch, b := setupBatch(t, 2)
	ctx := context.Background()
	for i := range 4 {
		id := b.insertRun(t, run.Queued, time.Duration(10-i)*time.Minute) // oldest first
		if err := b.queue.EnqueueRun(ctx, b.tenant, id, 3); err != nil {
			t.Fatal(err)
		}
	}
	lost := b.insertRun(t, run.Queued, time.Minute) // newest, and missing from the queue
	for range 3 {
		if _, err := sch.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !b.queued(t, lost) {
		t.Error("a lost run behind a backlog of queued runs was never enqueued")
	}
}

func TestSweepRevivesAnUnfinishedRunWhoseTaskWasArchived(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	ctx := context.Background()
	id := b.insertRun(t, run.Queued, time.Second)
	if err := b.queue.EnqueueRun(ctx, b.tenant, id, 3); err != nil {
		t.Fatal(err)
	}
	if err := b.insp.ArchiveTask(queue.QueueDefault, id.String()); err != nil {
		t.Fatal(err)
	}
	res, err := sch.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.insp.GetTaskInfo(queue.QueueDefault, id.String())
	if err != nil || res.Revived != 1 || info.State != asynq.TaskStatePending {
		t.Errorf("after the sweep: %+v, task %v (%v); want the run revived as a pending task", res, info, err)
	}
}

func TestSweepLeavesTheArchivedTaskOfADeadRun(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	ctx := context.Background()
	id := b.insertRun(t, run.Dead, time.Second)
	if err := b.queue.EnqueueRun(ctx, b.tenant, id, 3); err != nil {
		t.Fatal(err)
	}
	if err := b.insp.ArchiveTask(queue.QueueDefault, id.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := sch.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := b.insp.GetTaskInfo(queue.QueueDefault, id.String())
	if err != nil || info.State != asynq.TaskStateArchived {
		t.Errorf("dead run's task = %v (%v), want it still archived", info, err)
	}
}

func TestRetentionDeletesOnlyFinishedRunsPastThePlansDays(t *testing.T) {
	t.Parallel()
	sch, b := setup(t) // the free plan keeps 7 days
	ctx := context.Background()
	old := b.insertRun(t, run.Succeeded, time.Hour)
	recent := b.insertRun(t, run.Failed, time.Hour)
	unfinished := b.insertRun(t, run.Queued, time.Hour)
	b.exec(t, `UPDATE runs SET finished_at = now() - interval '8 days', created_at = now() - interval '8 days' WHERE id = $1`, old)
	b.exec(t, `UPDATE runs SET finished_at = now() - interval '6 days' WHERE id = $1`, recent)
	b.exec(t, `UPDATE runs SET created_at = now() - interval '30 days' WHERE id = $1`, unfinished)
	b.exec(t, `INSERT INTO run_steps (tenant_id, run_id, position, name, type, status, attempt) VALUES ($1, $2, 0, 's', 'log', 'succeeded', 1)`, b.tenant, old)
	b.exec(t, `INSERT INTO artifacts (id, tenant_id, run_id, step_position, name, content_type, size_bytes, sha256, content)
	           VALUES (gen_random_uuid(), $1, $2, 0, 'a', 'text/plain', 1, 'x', 'x')`, b.tenant, old)
	n, err := sch.ApplyRetention(ctx, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("ApplyRetention = %d, %v; want 1 run deleted", n, err)
	}
	var left []uuid.UUID
	err = b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		var orphans int
		if err := q.GetContext(ctx, &orphans, `SELECT (SELECT count(*) FROM run_steps) + (SELECT count(*) FROM artifacts)`); err != nil {
			return err
		}
		if orphans != 0 {
			t.Errorf("steps and artifacts left of the deleted run = %d, want 0", orphans)
		}
		return q.SelectContext(ctx, &left, `SELECT id FROM runs ORDER BY created_at`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 {
		t.Errorf("runs left = %v, want the recent and the unfinished one", left)
	}
}

func (b bundle) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := b.db.InTenantTx(ctx, b.tenant, func(tx postgres.Querier) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// A queued run whose task is active but never claims it (a worker that got
// the task and froze, or Redis recording it as taken) is reclaimed — but
// only once two sweeps at least the grace apart saw it so, since a task
// turns active a moment before its worker claims the run.
func TestSweepReclaimsARunWhoseActiveTaskNeverClaimsItOnlyOnceTheGraceHasPassedSinceItWasSeen(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	const grace = 500 * time.Millisecond
	sch := scheduler.New(b.db.DB, b.queue, scheduler.Options{Interval: time.Hour, QueuedGrace: grace, RunningStale: time.Minute,
		ReclaimAfter: time.Minute, Log: logging.Nop(),
		Admitter: &entitlement.Admitter{Plans: entitlement.Checker{Plans: plan.Default()}, Quota: &entitlement.Quota{}}})
	id := b.insertRun(t, run.Queued, time.Minute)
	if err := b.queue.EnqueueRun(ctx, b.tenant, id, 3); err != nil {
		t.Fatal(err)
	}
	// A queue consumer that takes the task and never claims the run.
	opt, err := queue.RedisOpt(b.redis)
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 1, Queues: map[string]int{queue.QueueDefault: 1}, LogLevel: asynq.FatalLevel})
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { <-hold; return nil })); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	defer close(hold)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if info, err := b.insp.GetTaskInfo(queue.QueueDefault, id.String()); err == nil && info.State == asynq.TaskStateActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task never became active")
		}
	}
	for i := range 2 {
		res, err := sch.Sweep(ctx)
		if err != nil || res.Reclaimed != 0 || res.Present != 1 {
			t.Fatalf("sweep %d right after the task turned active = %+v (%v); want it seen, not reclaimed", i+1, res, err)
		}
	}
	time.Sleep(grace)
	res, err := sch.Sweep(ctx)
	if err != nil || res.Reclaimed != 1 {
		t.Fatalf("sweep a grace after the first sighting = %+v (%v); want the run reclaimed", res, err)
	}
}
