package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"aias/internal/config"
)

// Serve runs every service of role until ctx is done, then stops them all
// and waits. If one service fails, the others are stopped too. ln is the
// ingress listener (nil: listen on the configured address).
func (a *App) Serve(ctx context.Context, role config.Role, ln net.Listener) error {
	if err := a.preflight(ctx, role); err != nil {
		return err
	}
	flush, err := a.startTracing(ctx, role) // tracing.go
	if err != nil {
		return err
	}
	defer flush() // after every service stopped: their last spans are exported
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
		start(a.Cron().Run)
	}
	if a.Cfg.MetricsAddr != "" {
		ops := a.Ops(role)
		start(func(ctx context.Context) error { return a.serveOps(ctx, ops) })
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

// serveOps runs the ops listener of every program (AIAS_METRICS_ADDR):
// /metrics, /healthz, /readyz and, with the ingress, /admin/queues — what
// operators reach and the public must not (ingress.Ops).
func (a *App) serveOps(ctx context.Context, h http.Handler) error {
	srv := &http.Server{Addr: a.Cfg.MetricsAddr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops listener on %s: %w", a.Cfg.MetricsAddr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
