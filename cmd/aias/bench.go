package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aias/internal/app"
	"aias/internal/config"
	"aias/internal/ingress"
	"aias/internal/logging"
	"aias/internal/queue"
	"aias/internal/tools/bench"
	"aias/internal/tools/bench/floor"
)

// benchCmd is 'aias bench': every phase, the Markdown table on out, the
// JSON report in a file, progress on stderr; an error when the ledger does
// not balance (VOID). 'aias bench ingress' is the ingress the bench starts,
// with the floor; 'aias bench noop-worker' is the no-op asynq worker the
// bench starts beside AIAS's.
func benchCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) > 0 && args[0] == "ingress" {
		return benchIngress(ctx, getenv, out)
	}
	if len(args) > 0 && args[0] == "noop-worker" {
		return noopWorker(ctx, args[1:], out)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o bench.Options
	self, _ := os.Executable()
	fs.StringVar(&o.AdminURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres superuser URL; the bench creates and drops a database of its own")
	fs.StringVar(&o.RedisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL; the bench claims a free logical database 1..15 (as the tests do)")
	fs.StringVar(&o.BinDir, "bin", filepath.Dir(self), "directory of aias and aias-worker")
	fs.StringVar(&o.JSONPath, "json", "bench.json", "where the JSON report is written")
	fs.DurationVar(&o.Block, "block", 2500*time.Millisecond, "length of one block of load")
	fs.IntVar(&o.Pairs, "pairs", 5, "floor/real pairs per ingress phase (the median ratio of five outlasts two stalled blocks)")
	fs.IntVar(&o.Conns, "conns", 16, "closed-loop connections (the database ceiling uses half)")
	fs.IntVar(&o.E2ERate, "e2e-rate", 200, "end-to-end rate of the latency gate, runs/s")
	fs.IntVar(&o.DrainRuns, "drain-runs", 2000, "backlog of each drain level")
	fs.IntVar(&o.DrainWarm, "drain-warm", 0, "runs each drain level's workers drain before the measured backlog")
	fs.IntVar(&o.DBConns, "db-conns", 20, "AIAS_DB_MAX_CONNS of each program")
	fs.IntVar(&o.GroupCommit, "group-commit", 0, "AIAS_INTAKE_GROUP_COMMIT of the ingress, most runs per intake transaction (0: its default; 1: each alone)")
	fs.IntVar(&o.GroupCommitFlushers, "group-commit-flushers", 0, "AIAS_INTAKE_GROUP_COMMIT_FLUSHERS of the ingress (0: its default)")
	fs.IntVar(&o.FleetRuns, "fleet-runs", 1500, "backlog of each drain of the fleet-cost phase")
	fs.IntVar(&o.FleetPairs, "fleet-pairs", 3, "one-worker/four-worker pairs of the fleet-cost phase")
	fs.IntVar(&o.IOConc, "io-concurrency", 4, "AIAS_WORKER_CONCURRENCY of the I/O-bound drain's workers")
	fs.IntVar(&o.IORuns, "io-runs", 240, "runs per worker in each level of the I/O-bound drain")
	fs.IntVar(&o.NoopTasks, "noop-tasks", 5000, "no-op tasks of each no-op drain level")
	fs.IntVar(&o.WorkerConc, "worker-concurrency", 10, "AIAS_WORKER_CONCURRENCY of each worker")
	fs.StringVar(&o.Phases, "phases", "", "comma-separated phases to run ("+strings.Join(bench.PhaseNames, ", ")+"); empty: all")
	fs.StringVar(&o.LogLevel, "log-level", "warn", "AIAS_LOG_LEVEL of the programs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Progress = os.Stderr
	r, err := bench.Run(ctx, o)
	if r != nil {
		r.WriteMarkdown(out)
		if werr := r.WriteJSON(o.JSONPath); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(out, "\nEvery figure: %s\n", o.JSONPath)
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if len(r.Void) > 0 {
		return errors.New("bench VOID: the ledger does not balance")
	}
	return nil
}

// benchIngress is 'aias bench ingress': the ingress role as aias-ingress
// serves it (app.New, app.Serve), configured from the environment the
// bench gives it, plus the floor route the bench compares the real intake
// with. The floor is the bench's (internal/tools/bench/floor), so the
// production aias-ingress never carries it. Its signing secret is
// published, so it never runs as production (the bench sets AIAS_ENV=dev).
func benchIngress(ctx context.Context, getenv func(string) string, out io.Writer) error {
	cfg, err := config.Load(getenv, config.RoleIngress)
	if err != nil {
		return err
	}
	if cfg.Env != "dev" {
		return errors.New("aias bench ingress serves the bench's floor, whose signing secret is published: it runs only with AIAS_ENV=dev")
	}
	log := logging.New(out, logging.Options{Level: cfg.LogLevel, Pretty: cfg.LogFormat == "pretty"})
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer a.Close()
	a.ExtraRoutes = []ingress.ExtraRoute{floor.Route(a.DB, a.Queue)}
	return a.Serve(ctx, config.RoleIngress, nil)
}

// noopWorker serves no-op tasks until SIGTERM, then prints what it did as JSON.
func noopWorker(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench noop-worker", flag.ContinueOnError)
	url := fs.String("redis", "", "Redis URL of the bench's database")
	conc := fs.Int("concurrency", 10, "tasks at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt, err := queue.RedisOpt(*url)
	if err != nil {
		return err
	}
	st, err := queue.ServeNoop(ctx, opt, *conc)
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(st)
}
