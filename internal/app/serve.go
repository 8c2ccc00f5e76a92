package app

import (
	"context"
	"errors"
	"net"
	"sync"

	"aias/internal/config"
)

// Serve runs every service of role until ctx is done, then stops them all
// and waits. If one service fails, the others are stopped too. ln is the
// ingress listener (nil: listen on the configured address).
func (a *App) Serve(ctx context.Context, role config.Role, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := func(fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
			}
		}()
	}
	if role&config.RoleWorker != 0 {
		start(a.Worker().Run)
	}
	if role&config.RoleScheduler != 0 {
		start(a.Scheduler().Run)
	}
	if role&config.RoleIngress != 0 {
		srv := a.Ingress()
		start(func(ctx context.Context) error {
			if ln != nil {
				return srv.Serve(ctx, ln)
			}
			return srv.ListenAndServe(ctx, a.Cfg.HTTPAddr)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
