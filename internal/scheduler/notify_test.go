package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/run"
	"aias/internal/workflow"
)

// finishedWithNotice stores a run of a workflow with on_finish and ends it
// the way any code path would: one status update, nothing enqueued.
func (b bundle) finishedWithNotice(t *testing.T, status run.Status) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	def, err := workflow.Decode([]byte(`{"name":"notified-`+uuid.NewString()[:8]+`",
		"on_finish":{"url":"https://example.com/done"},"steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	err = b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		wf, err := workflow.Create(ctx, q, b.tenant, def)
		if err != nil {
			return err
		}
		id, _, err = run.Insert(ctx, q, run.New{TenantID: b.tenant, WorkflowID: wf.ID, WorkflowVersion: 1,
			TriggerKind: run.TriggerManual, MaxAttempts: 3, Body: []byte(`{}`), ReceivedAt: time.Now()})
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE runs SET status = $2, finished_at = now() WHERE id = $1`, id, status)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b bundle) noticeQueued(t *testing.T, id uuid.UUID) bool {
	t.Helper()
	_, err := b.insp.GetTaskInfo(queue.QueueDefault, queue.NotifyTaskID(id))
	return err == nil
}

func TestSweepNoticesEnqueuesPendingNotificationsNothingEnqueued(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	id := b.finishedWithNotice(t, run.Failed)
	later := b.finishedWithNotice(t, run.Succeeded)
	err := b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `UPDATE runs SET callback_next_at = now() + interval '1 hour' WHERE id = $1`, later)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.noticeQueued(t, id) {
		t.Fatal("notification is queued before the sweep; the test proves nothing")
	}
	res, err := sch.SweepNotices(context.Background())
	if err != nil || res.Candidates != 1 || res.Failed != 0 {
		t.Fatalf("SweepNotices = %+v, %v; want the one due notification", res, err)
	}
	if !b.noticeQueued(t, id) || b.noticeQueued(t, later) {
		t.Errorf("queued: due %v, not yet due %v; want only the due one", b.noticeQueued(t, id), b.noticeQueued(t, later))
	}
	// Sweeping again while the task waits is a no-op: the task id derives from the run id.
	if res, err := sch.SweepNotices(context.Background()); err != nil || res.Failed != 0 {
		t.Errorf("second SweepNotices = %+v, %v; want no failure", res, err)
	}
	if tasks, err := b.insp.ListPendingTasks(queue.QueueDefault); err != nil || len(tasks) != 1 {
		t.Errorf("pending tasks = %d (%v), want one", len(tasks), err)
	}
}

// A pending notification whose task asynq archived (its last delivery
// found Postgres away and could not record the outcome) is given a new
// task: the archived one holds the task id and would otherwise turn every
// later enqueue into a silent no-op, the notification pending for good.
func TestSweepNoticesReplacesTheArchivedTaskOfAPendingNotification(t *testing.T) {
	t.Parallel()
	sch, b := setup(t)
	ctx := context.Background()
	id := b.finishedWithNotice(t, run.Failed)
	if err := b.queue.EnqueueNotify(ctx, b.tenant, id); err != nil {
		t.Fatal(err)
	}
	if err := b.insp.ArchiveTask(queue.QueueDefault, queue.NotifyTaskID(id)); err != nil {
		t.Fatal(err)
	}
	res, err := sch.SweepNotices(ctx)
	if err != nil || res.Candidates != 1 || res.Revived != 1 || res.Failed != 0 {
		t.Fatalf("SweepNotices = %+v, %v; want the archived notification revived", res, err)
	}
	info, err := b.insp.GetTaskInfo(queue.QueueDefault, queue.NotifyTaskID(id))
	if err != nil {
		t.Fatalf("notification task after the sweep: %v; want it pending", err)
	}
	if info.State != asynq.TaskStatePending {
		t.Errorf("notification task after the sweep is %v, want pending", info.State)
	}
}
