package run

import (
	"context"
	"time"

	"github.com/google/uuid"

	"aias/internal/logging"
)

// Handoff hands committed runs to the queue within a budget, for callers
// that answer someone waiting (the intake answers its sender): a slow or
// frozen Redis costs them the budget, not the queue client's timeouts. An
// enqueue that has not finished within the budget goes on in the
// background; one that fails there, or finds too many already in flight,
// is the sweep's (the run is queued in Postgres, and the sweep enqueues
// every queued run missing from the queue). A Handoff is itself an
// Enqueuer whose EnqueueRun never fails.
type Handoff struct {
	Queue  Enqueuer
	Budget time.Duration // <= 0: wait for the queue client (its own timeouts)
	slots  chan struct{} // enqueues in flight
}

// maxBackgroundEnqueues bounds the enqueues a Handoff keeps in flight.
const maxBackgroundEnqueues = 1024

// NewHandoff builds a Handoff to q with the given budget.
func NewHandoff(q Enqueuer, budget time.Duration) *Handoff {
	return &Handoff{Queue: q, Budget: budget, slots: make(chan struct{}, maxBackgroundEnqueues)}
}

// EnqueueRun enqueues the run, waiting at most the budget; see Handoff.
func (h *Handoff) EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) error {
	h.Enqueue(ctx, tenantID, runID, maxAttempts)
	return nil
}

// Enqueue reports whether the queue took the run's task within the budget.
func (h *Handoff) Enqueue(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) bool {
	if h.Budget <= 0 {
		return Enqueue(ctx, h.Queue, tenantID, runID, maxAttempts)
	}
	return budgeted{h.Budget, h.slots}.do(ctx, runID, func(bg context.Context) bool {
		return Enqueue(bg, h.Queue, tenantID, runID, maxAttempts)
	})
}

// budgeted waits for a queue call about a committed run at most budget,
// leaving a slower one to finish in the background, with at most
// cap(slots) of them at once.
type budgeted struct {
	budget time.Duration
	slots  chan struct{}
}

// do makes call under a context nobody's hang-up cancels (the run is
// committed) and reports whether it succeeded within the budget. A call
// that fails, or is not made because too many are in flight, is the
// sweep's: it enqueues every queued run missing from the queue.
func (b budgeted) do(ctx context.Context, runID uuid.UUID, call func(context.Context) bool) bool {
	select {
	case b.slots <- struct{}{}:
	default:
		logging.From(ctx).Warn().Str("run_id", runID.String()).
			Msg("too many queue calls in flight; the run is stored and the sweep will enqueue it")
		return false
	}
	done := make(chan bool, 1)
	bg := context.WithoutCancel(ctx)
	go func() {
		defer func() { <-b.slots }()
		done <- call(bg)
	}()
	t := time.NewTimer(b.budget)
	defer t.Stop()
	select {
	case ok := <-done:
		return ok
	case <-t.C:
		logging.From(ctx).Info().Str("run_id", runID.String()).Dur("budget", b.budget).
			Msg("the queue is slow; the call goes on in the background")
		return false
	}
}
