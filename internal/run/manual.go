package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/workflow"
)

// Manual is a run started through the API rather than by a webhook.
type Manual struct {
	TenantID   uuid.UUID
	WorkflowID uuid.UUID
	Body       json.RawMessage // becomes trigger.body
	RequestID  string
	// Admitter admits the run against the tenant's plan, in the run's
	// transaction (nil: every run is admitted).
	Admitter Admitter
}

// StartManual stores a manual run of the workflow's current version and
// enqueues it.
func StartManual(ctx context.Context, db *postgres.DB, queue Enqueuer, m Manual) (uuid.UUID, Status, error) {
	var id uuid.UUID
	var maxAttempts int
	var adm entitlement.Admission
	err := db.InTenantTx(ctx, m.TenantID, func(q postgres.Querier) error {
		w, err := workflow.Get(ctx, q, m.WorkflowID)
		if err != nil {
			return err
		}
		if !w.Enabled {
			return errs.E(errs.Conflict, "workflow_disabled", "the workflow is disabled")
		}
		def, err := workflow.Pinned(ctx, q, w.ID, w.Version)
		if err != nil {
			return err
		}
		maxAttempts = def.EffectiveMaxAttempts()
		body := []byte(m.Body)
		if len(body) == 0 {
			body = []byte("{}")
		}
		adm, err = admit(ctx, m.Admitter, q, m.TenantID, func(held bool) (bool, error) {
			id, _, err = Insert(ctx, q, New{TenantID: m.TenantID, WorkflowID: w.ID, WorkflowVersion: w.Version,
				TriggerKind: TriggerManual, MaxAttempts: maxAttempts, RequestID: m.RequestID, Body: body,
				ContentType: "application/json", ReceivedAt: time.Now(), Held: held, KeyExpr: def.ConcurrencyKey})
			return false, err // a new id: never a repeat
		})
		return err
	})
	if err != nil {
		adm.Undo()
		return uuid.Nil, Queued, fmt.Errorf("start manual run: %w", err)
	}
	if adm.Held {
		return id, Held, nil
	}
	Enqueue(context.WithoutCancel(ctx), queue, m.TenantID, id, maxAttempts)
	return id, Queued, nil
}
