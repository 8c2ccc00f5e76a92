package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

// A few seconds of every phase against the real programs: the ledger must
// balance and every phase must report. No figure is judged (speed is for
// `make bench`); this only proves the bench still runs end to end.
func TestBenchSmokeRunsEveryPhaseAndBalancesItsLedger(t *testing.T) {
	dir := t.TempDir()
	for bin, pkg := range map[string]string{"aias": "aias/cmd/aias", "aias-ingress": "aias/cmd/ingress", "aias-worker": "aias/cmd/worker"} {
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
		Block: 300 * time.Millisecond, Pairs: 1, Conns: 4, E2ERate: 20, DrainRuns: 40, NoopTasks: 100, WorkerConc: 4,
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
