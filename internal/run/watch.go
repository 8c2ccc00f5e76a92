package run

import (
	"context"
	"errors"
	"time"
)

// defaultHeartbeat is how often a running step's run is touched.
const defaultHeartbeat = 2 * time.Second

// watch keeps a run alive while one of its steps runs and stops the step
// when the run stops being this delivery's: every Heartbeat it touches the
// run (so the sweep does not take a long step for a crashed worker) and
// calls refresh (the tenant slot's lease, so a long step keeps it), and a
// refused touch — the run was canceled, or taken over by a newer delivery —
// cancels the step's context with errNotRunnable as the cause. A step that
// finishes within one Heartbeat costs nothing.
func (e *Executor) watch(ctx context.Context, r Run, refresh func(context.Context)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	every := e.Heartbeat
	if every <= 0 {
		every = defaultHeartbeat
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := touchRun(ctx, e.DB, r)
			if errors.Is(err, errNotRunnable) {
				cancel(err)
				return
			}
			refresh(ctx)
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}
