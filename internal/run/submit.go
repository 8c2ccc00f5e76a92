package run

import (
	"context"

	"github.com/google/uuid"

	"aias/internal/logging"
)

// Enqueuer puts a run on the work queue. Implementations must be idempotent
// per run id (the queue's task id is the run id).
type Enqueuer interface {
	EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) error
}

// Enqueue hands a committed run to the queue. A queue failure is logged, not
// returned: the run is already durable in Postgres and the scheduler's sweep
// enqueues every queued run that is missing from the queue.
func Enqueue(ctx context.Context, q Enqueuer, tenantID, runID uuid.UUID, maxAttempts int) (enqueued bool) {
	if err := q.EnqueueRun(ctx, tenantID, runID, maxAttempts); err != nil {
		logging.From(ctx).Warn().Err(err).Str("run_id", runID.String()).
			Msg("enqueue failed; the run is stored and the sweep will enqueue it")
		return false
	}
	return true
}
