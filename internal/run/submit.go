package run

import (
	"context"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/logging"
	"aias/internal/postgres"
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

// Admitter admits each new run against its tenant's plan before it is
// stored: entitlement.Admitter, the one admission path of every trigger.
type Admitter interface {
	Admit(ctx context.Context, q postgres.Getter, r entitlement.Request, insert entitlement.Insert) (entitlement.Admission, error)
}

// admit stores a new run of the tenant with insert, admitted by a (nil:
// admitted, never held).
func admit(ctx context.Context, a Admitter, q postgres.Querier, tenantID uuid.UUID, insert entitlement.Insert) (entitlement.Admission, error) {
	if a == nil {
		_, err := insert(false)
		return entitlement.Admission{}, err
	}
	return a.Admit(ctx, q, entitlement.Request{TenantID: tenantID}, insert)
}
