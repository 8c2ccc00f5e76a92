package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/step"
)

// Ordering per key: a workflow's concurrency_key expression gives each run a
// key when it is created. A run whose key has an unfinished run of the same
// workflow that arrived before it (lower seq) is not claimed: its task waits
// (ErrBusy, no attempt spent). When a keyed run finishes, the next run of
// its key is nudged to start at once instead of at its next poll.

// MaxKeyLen bounds a concurrency key; longer values are cut.
const MaxKeyLen = 200

// keyOf evaluates the run's concurrency key. A key that is null, empty or
// fails to evaluate gives the run no key: it is not ordered, and the
// failure is logged. Keys are strings; other values are their JSON text.
func keyOf(ctx context.Context, n New) *string {
	if n.KeyExpr == "" {
		return nil
	}
	r := Run{Body: n.Body, ContentType: n.ContentType, Headers: n.Headers, Query: n.Query, ReceivedAt: n.ReceivedAt}
	if n.DeliveryID != "" {
		r.DeliveryID = &n.DeliveryID
	}
	v, err := step.Eval(ctx, n.KeyExpr, triggerEnv(r))
	if err != nil {
		logging.From(ctx).Warn().Err(err).Msg("concurrency key could not be computed; the run is not ordered")
		return nil
	}
	var key string
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		key = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		key = string(b)
	}
	if key == "" {
		return nil
	}
	if len(key) > MaxKeyLen {
		key = key[:MaxKeyLen]
	}
	return &key
}

// Nudger starts a waiting run's task now.
type Nudger interface {
	Nudge(ctx context.Context, tenantID, runID uuid.UUID) error
}

// nudgeNext starts the next run of a finished run's key, if there is one.
func (e *Executor) nudgeNext(ctx context.Context, r Run) {
	if r.ConcurrencyKey == nil || e.Nudger == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var next uuid.UUID
	err := e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) error {
		const find = `SELECT id FROM runs
 WHERE workflow_id = $1 AND concurrency_key = $2 AND tenant_id = $3 AND status = 'queued'
 ORDER BY seq LIMIT 1`
		return q.GetContext(ctx, &next, find, r.WorkflowID, *r.ConcurrencyKey, r.TenantID)
	})
	if postgres.IsNoRows(err) {
		return
	}
	if err != nil {
		logging.From(ctx).Debug().Err(err).Msg("could not find the next run of the key")
		return
	}
	if err := e.Nudger.Nudge(ctx, r.TenantID, next); err != nil {
		logging.From(ctx).Debug().Err(err).Str("next_run_id", next.String()).Msg("could not nudge the next run of the key; it starts at its next poll")
	}
}

// waitingTurn reports whether run id is held back by an earlier run of its
// key (aias_predecessor_unfinished, migration 00014).
func waitingTurn(ctx context.Context, q postgres.Getter, id uuid.UUID) (bool, error) {
	var waiting bool
	const turn = `SELECT aias_predecessor_unfinished(workflow_id, concurrency_key, seq) FROM runs WHERE id = $1 AND tenant_id = $2`
	err := q.GetContext(ctx, &waiting, turn, id, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check the order of run %s: %w", id, postgres.Classify(err))
	}
	return waiting, nil
}
