package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"aias/internal/config"
	"aias/internal/logging"
)

// Main is the whole of cmd/ingress, cmd/worker and cmd/scheduler: parse the
// environment for role, build the app, serve until SIGINT or SIGTERM, drain.
func Main(name string, role config.Role) {
	if len(os.Args) > 1 && (os.Args[1] == "--help" || os.Args[1] == "-h" || os.Args[1] == "help") {
		fmt.Printf("%s: %s\n\n%s", name, describe(role), config.Help())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, name, role, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run loads configuration, builds the app and serves role until ctx is done.
func Run(ctx context.Context, name string, role config.Role, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv, role)
	if err != nil {
		return err
	}
	log := logging.New(stdout, cfg.Parsed.Log)
	a, err := New(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer a.Close()
	return a.Serve(ctx, role, nil)
}

func describe(r config.Role) string {
	switch r {
	case config.RoleIngress:
		return "the HTTP ingress: webhook intake, management API, health and metrics"
	case config.RoleWorker:
		return "the worker: executes runs from the queue, step by step"
	case config.RoleScheduler:
		return "the scheduler: starts cron-scheduled runs (one leader), re-enqueues runs missing from the queue"
	}
	return "AIAS"
}
