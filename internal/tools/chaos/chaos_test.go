package chaos_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aias/internal/tools/chaos"
)

// binDir holds the programs built once for this test binary.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aias-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	for _, p := range []string{"ingress", "worker", "scheduler"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "aias-"+p), "aias/cmd/"+p)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", p, err, out)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// TestFaultSubset runs four scenarios of the suite with smaller loads:
// an ingress killed under load (3), Redis flushed with runs queued and
// delayed (5), SIGTERM on each program in turn under load (7) and a poison
// step with its re-drive (9). `make chaos` runs all seventeen at full size.
func TestFaultSubset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var log strings.Builder
	results, err := chaos.Run(ctx, chaos.Options{
		BinDir: binDir, AdminURL: os.Getenv("AIAS_TEST_DATABASE_URL"), Out: &log, Quick: true,
	}, []int{3, 5, 7, 9})
	t.Log("\n" + log.String())
	if err != nil {
		t.Fatalf("chaos.Run: %v", err)
	}
	if len(results) != 4 {
		t.Fatalf("%d results, want 4", len(results))
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("scenario %d (%s): %s", r.N, r.Name, strings.Join(r.Failures, "; "))
		}
		if r.L != 0 {
			t.Errorf("scenario %d: L = %d, want 0", r.N, r.L)
		}
	}
}
