package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

// A few seconds of every phase against the real programs: the ledger must
// balance and every phase must report. No figure is judged (speed is for
// `make bench`); this only proves the bench still runs end to end.
func TestBenchSmokeRunsEveryPhaseAndBalancesItsLedger(t *testing.T) {
	dir := t.TempDir()
	for bin, pkg := range map[string]string{"aias": "aias/cmd/aias", "aias-worker": "aias/cmd/worker"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, bin), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", bin, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress strings.Builder
	r, err := Run(ctx, Options{
		AdminURL: pgtest.AdminURL(), RedisURL: redistest.BaseURL(), BinDir: dir,
		Block: 300 * time.Millisecond, Pairs: 1, Conns: 4, E2ERate: 20, DrainRuns: 40, NoopTasks: 100, WorkerConc: 4, DBConns: 6,
		FleetRuns: 20, FleetWarm: 20, FleetPairs: 1, IOConc: 2, IORuns: 6,
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	if len(r.Void) > 0 {
		t.Fatalf("the ledger does not balance: %v\n%s", r.Void, progress.String())
	}
	checks := map[string]bool{
		"ingress max of both routes":  r.IngressMax.FloorMax > 0 && r.IngressMax.RealMax > 0,
		"ingress latency blocks":      len(r.IngressLatency.Blocks) == 2,
		"a database ceiling":          r.Ceiling.RunsPerSec > 0,
		"end-to-end runs":             r.E2E.Latency.RunsPerSec > 0 && r.E2E.RunsPerSec > 0,
		"three drain levels":          len(r.Drain.Levels) == 3,
		"e2e at half the ceiling":     r.E2E.Half.Rate > 0 && r.E2E.Half.Completed > 0,
		"a fleet-cost pair":           len(r.Fleet.Pairs) == 1 && r.Fleet.Pairs[0].One.Runs == 20 && r.Fleet.Pairs[0].Four.Runs == 20,
		"three I/O-bound levels":      len(r.IO.Levels) == 3 && r.IO.Levels[2].Runs == 24,
		"worker memory":               r.Memory.IdleMB > 0 && r.Memory.Peak256KMB > 0,
		"a ledger row for each phase": len(r.Ledgers) >= 6,
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("the report lacks %s", what)
		}
	}
	if t.Failed() {
		t.Log(progress.String())
	}
}

// A bench killed mid-run leaves its database; the next bench drops it once
// it is two hours old, and leaves a running bench's alone.
func TestStaleBenchDatabasesAreDropped(t *testing.T) {
	ctx := context.Background()
	admin, err := postgres.Open(ctx, pgtest.AdminURL(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// A cleanup, not a defer: the drop of the recent database below runs
	// after the test returns, and needs the pool still open (cleanups run
	// last registered first).
	t.Cleanup(func() { _ = admin.Close() })
	old := fmt.Sprintf("aias_bench_1_%d", time.Now().Add(-3*time.Hour).Unix())
	recent := fmt.Sprintf("aias_bench_2_%d", time.Now().Add(-time.Minute).Unix())
	for _, n := range []string{old, recent} {
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, n)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q`, recent)) })
	dropStale(ctx, admin)
	var left []string
	if err := admin.SelectContext(ctx, &left, `SELECT datname FROM pg_database WHERE datname IN ($1, $2)`, old, recent); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != recent {
		t.Errorf("databases left = %v, want only the recent %s", left, recent)
	}
}
