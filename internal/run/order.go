package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/step"
)

// Ordering per key: a workflow's concurrency_key expression gives each run
// a key. A run whose key has an unfinished run of the same workflow that
// arrived before it (lower seq) is not claimed: its task waits (ErrBusy,
// no attempt spent). When a keyed run finishes, the next run of its key is
// nudged to start at once instead of at its next poll.
//
// The key is computed by the worker, not at intake: the expression is a
// tenant's, and the ingress serves every tenant. A run is stored with its
// key pending; the first worker to claim it computes the key, under the
// expression budget and keyTimeout, and records it (aias_set_run_key,
// migration 00022), handing the claim back when the key's turn has not
// come. While a run's key is pending it could be any key, so every later
// keyed run of the workflow waits for it: earlier runs still go first.

// MaxKeyLen bounds a concurrency key; longer values are cut.
const MaxKeyLen = 200

// keyTimeout bounds the computation of one run's key.
const keyTimeout = time.Second

// errKeyTimeout is the cause of a key computation that took too long.
var errKeyTimeout = fmt.Errorf("the concurrency key took longer than %s to compute", keyTimeout)

// keyOf evaluates the concurrency key expression src for run r. A null or
// empty result gives the run no key (nil): it is not ordered. Keys are
// strings; other values are their JSON text. An expression that fails, or
// spends more than its budget, fails the run for good.
func keyOf(ctx context.Context, src string, r Run) (*string, error) {
	ctx, cancel := context.WithTimeoutCause(step.WithBudget(ctx), keyTimeout, errKeyTimeout)
	defer cancel()
	v, err := step.Eval(ctx, src, triggerEnv(r).WithoutSecrets())
	if err != nil {
		return nil, err
	}
	var key string
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		key = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, step.Permanent(fmt.Errorf("the concurrency key is not JSON-encodable: %w", err))
		}
		key = string(b)
	}
	if key == "" {
		return nil, nil
	}
	// A key quotes trigger data: a NUL or a stray byte in it must not make
	// it unstorable, nor may the cut split a character (either would fail
	// every delivery of the run, and hold up every later run of the key).
	key = postgres.Text(key)
	if len(key) > MaxKeyLen {
		n := MaxKeyLen
		for n > 0 && !utf8.RuneStart(key[n]) {
			n--
		}
		key = key[:n]
	}
	return &key, nil
}

// resolveKey computes and records the key of a claimed run whose key is
// pending. waiting is true when an earlier run of the key is unfinished:
// the claim has been handed back. A run whose key was decided before
// (possibly as no key, by an intake that computed keys itself) is left as
// it is, even if the expression now fails.
func (e *Executor) resolveKey(ctx context.Context, r *Run, src string) (waiting bool, err error) {
	key, err := keyOf(ctx, src, *r)
	if err != nil {
		if pending, perr := keyPending(ctx, e.DB.Scoped(r.TenantID), r.ID); perr == nil && !pending {
			return false, nil
		}
		return false, err
	}
	state, err := setRunKey(ctx, e.DB, *r, key)
	if err != nil {
		return false, err
	}
	switch state {
	case "gone":
		return false, fmt.Errorf("%w: run %s attempt %d is no longer running here", errNotRunnable, r.ID, r.Attempt)
	case "wait":
		return true, nil
	case "set":
		r.ConcurrencyKey = key
	}
	return false, nil
}

// keyPending reports whether run id's key is still to be computed.
func keyPending(ctx context.Context, q postgres.Getter, id uuid.UUID) (bool, error) {
	var pending bool
	const read = `SELECT key_pending FROM runs WHERE id = $1 AND tenant_id = $2`
	if err := q.GetContext(ctx, &pending, read, id, postgres.Tenant(q)); err != nil {
		return false, fmt.Errorf("read run %s: %w", id, postgres.Classify(err))
	}
	return pending, nil
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
// key, or of a key still pending (aias_predecessor_unfinished, migrations
// 00014 and 00022).
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
