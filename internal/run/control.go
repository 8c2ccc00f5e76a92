package run

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/workflow"
)

// Replay stores a new run with the same trigger as run id (body, headers,
// query, content type), on the pinned version or the workflow's current one,
// linked to the original, counted against the quota like any new run.
func Replay(ctx context.Context, db *postgres.DB, queue Enqueuer, tenantID, id uuid.UUID, current bool, requestID string,
	admitter Admitter) (uuid.UUID, Status, error) {
	r := newReplayer(tenantID, current, requestID, admitter)
	var newID uuid.UUID
	var maxAttempts int
	var adm entitlement.Admission
	err := db.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
		if newID, maxAttempts, adm, err = r.one(ctx, q, id); err != nil {
			return err
		}
		if newID == uuid.Nil {
			return errs.NotFoundf("run not found")
		}
		return linkReplays(ctx, q, []uuid.UUID{newID}, []string{id.String()})
	})
	if err != nil {
		adm.Undo()
		return uuid.Nil, "", fmt.Errorf("replay run %s: %w", id, err)
	}
	if adm.Held {
		return newID, Held, nil
	}
	Enqueue(context.WithoutCancel(ctx), queue, tenantID, newID, maxAttempts)
	return newID, Queued, nil
}

// Reviver replaces a run's task even when an archived one holds its id.
type Reviver interface {
	Revive(ctx context.Context, tenantID, runID uuid.UUID) error
}

// Redrive puts a failed or dead run back in the queue: the same run resumes
// after its last succeeded step, optionally on the workflow's current
// version. The failed step keeps its failure count, so it is attempted
// exactly once more before the run is dead again: a poison step does not
// spend a whole new budget on every redrive.
func Redrive(ctx context.Context, db *postgres.DB, queue Reviver, tenantID, id uuid.UUID, current bool) error {
	err := db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		r, err := Get(ctx, q, id)
		if err != nil {
			return err
		}
		if r.Status != Failed && r.Status != Dead {
			return errs.E(errs.Conflict, "not_redrivable", fmt.Sprintf("a %s run cannot be re-driven; only failed and dead runs can", r.Status))
		}
		if current { // a deleted workflow has no current version to redrive on
			if _, err := workflow.Get(ctx, q, r.WorkflowID); err != nil {
				return err
			}
		}
		_, err = redriveRuns(ctx, q, []bulkKey{{ID: id}}, current)
		return err
	})
	if err != nil {
		return fmt.Errorf("redrive run %s: %w", id, err)
	}
	// Best effort, within a budget: the run is queued in Postgres, so the
	// sweep enqueues it if Redis is away or slow now, and the caller is not
	// kept waiting for the queue client's timeouts.
	revivals.do(ctx, id, func(bg context.Context) bool { return queue.Revive(bg, tenantID, id) == nil })
	return nil
}

// revivals bounds Redrive's wait for the queue (500 ms) and the revivals
// left in the background.
var revivals = budgeted{budget: 500 * time.Millisecond, slots: make(chan struct{}, maxBackgroundEnqueues)}
