package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/logging"
	"aias/internal/telemetry"
)

// TypeRunNotify delivers a finished run's on_finish notification. Its
// TaskID derives from the run id, so the executor's enqueue right after
// the run finished and the sweep's enqueue of a pending notification
// create one task. The attempt budget lives on the run row
// (callback_attempts); asynq's retry limit is a backstop.
const TypeRunNotify = "run:notify"

// RunNotify is the payload of run:notify; the run row holds the rest.
type RunNotify struct {
	TenantID uuid.UUID `json:"tenant_id"`
	RunID    uuid.UUID `json:"run_id"`
}

// notifyBackstop is asynq's retry limit of run:notify, above the run
// row's own budget of attempts (run.MaxNotifyAttempts).
const notifyBackstop = 25

// NotifyTimeout bounds one delivery of a run:notify task.
const NotifyTimeout = time.Minute

// NotifyTaskID is the task id of a run's notification.
func NotifyTaskID(runID uuid.UUID) string { return "notify:" + runID.String() }

// NewRunNotify builds the task; the request id and the trace context (the
// run:execute span that finished the run) travel in its headers.
func NewRunNotify(ctx context.Context, p RunNotify) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", TypeRunNotify, err)
	}
	return asynq.NewTaskWithHeaders(TypeRunNotify, b, telemetry.InjectTrace(ctx, logging.Headers(ctx)),
		asynq.TaskID(NotifyTaskID(p.RunID)), asynq.Queue(QueueDefault),
		asynq.MaxRetry(notifyBackstop), asynq.Timeout(NotifyTimeout)), nil
}

// ParseRunNotify decodes a run:notify payload.
func ParseRunNotify(t *asynq.Task) (RunNotify, error) {
	var p RunNotify
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("decode %s payload: %w", TypeRunNotify, err)
	}
	if p.RunID == uuid.Nil || p.TenantID == uuid.Nil {
		return p, fmt.Errorf("decode %s payload: run_id and tenant_id are required", TypeRunNotify)
	}
	return p, nil
}

// EnqueueNotify enqueues run:notify for a run, as EnsureNotify does.
func (c *Client) EnqueueNotify(ctx context.Context, tenantID, runID uuid.UUID) error {
	_, err := c.EnsureNotify(ctx, tenantID, runID)
	return err
}

// EnsureNotify enqueues run:notify for a run unless a live task exists,
// and says which. A task waiting, retrying or being delivered is left as it
// is (Present). An archived or completed one is replaced (Archived): the
// run row says the notification is still pending, so the delivery asynq
// gave up on never recorded its outcome (Postgres was away at its last
// retry), and the task, holding the id, would otherwise block every
// later enqueue of the notification for good.
func (c *Client) EnsureNotify(ctx context.Context, tenantID, runID uuid.UUID) (Presence, error) {
	t, err := NewRunNotify(ctx, RunNotify{TenantID: tenantID, RunID: runID})
	if err != nil {
		return 0, err
	}
	p, err := c.ensure(ctx, t, NotifyTaskID(runID))
	if err != nil {
		return 0, fmt.Errorf("enqueue notification of run %s: %w", runID, err)
	}
	return p, nil
}

// ensure enqueues t, whose id is id, within a short timeout; a live task
// holding the id is success, and a finished one (archived or completed) is
// deleted and t enqueued in its place.
func (c *Client) ensure(ctx context.Context, t *asynq.Task, id string) (Presence, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := c.c.EnqueueContext(ctx, t)
	if err == nil {
		return Enqueued, nil
	}
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return 0, err
	}
	info, err := c.inspector().GetTaskInfo(QueueDefault, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		return Present, nil // finished between the two calls
	case err != nil:
		return 0, fmt.Errorf("inspect task %s: %w", id, err)
	case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
		return Present, nil
	}
	if err := c.inspector().DeleteTask(QueueDefault, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return 0, fmt.Errorf("delete %s task %s: %w", info.State, id, err)
	}
	if _, err := c.c.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return 0, err // a conflict now: another scheduler replaced it first
	}
	return Archived, nil
}
