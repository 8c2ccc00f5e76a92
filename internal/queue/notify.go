package queue

import (
	"context"
	"encoding/json"
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

// EnqueueNotify enqueues run:notify for a run. A task that already exists
// for the run (waiting, retrying or running) is success.
func (c *Client) EnqueueNotify(ctx context.Context, tenantID, runID uuid.UUID) error {
	t, err := NewRunNotify(ctx, RunNotify{TenantID: tenantID, RunID: runID})
	if err != nil {
		return err
	}
	if err := c.enqueueOnce(ctx, t); err != nil {
		return fmt.Errorf("enqueue notification of run %s: %w", runID, err)
	}
	return nil
}
