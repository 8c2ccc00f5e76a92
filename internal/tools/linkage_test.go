package tools_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// goList runs 'go list args...' and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Fields(string(out))
}

// productionPrograms are the programs an operator deploys.
var productionPrograms = []string{"aias/cmd/ingress", "aias/cmd/worker", "aias/cmd/scheduler"}

// The production programs link no tooling package, nor the load generator
// only the bench uses.
func TestTheProductionProgramsLinkNoTooling(t *testing.T) {
	t.Parallel()
	tooling := goList(t, "aias/internal/tools/...")
	if len(tooling) < 5 {
		t.Fatalf("go list aias/internal/tools/... = %v, want bench, its floor, chaos, tcpproxy and loopback", tooling)
	}
	banned := map[string]bool{"github.com/tsenart/vegeta/v12/lib": true}
	for _, p := range tooling {
		banned[p] = true
	}
	for _, prog := range productionPrograms {
		deps := goList(t, "-deps", prog)
		if len(deps) < 50 {
			t.Fatalf("go list -deps %s = %d packages; want the program's whole graph", prog, len(deps))
		}
		for _, d := range deps {
			if banned[d] || strings.HasPrefix(d, "aias/internal/tools") {
				t.Errorf("%s links %s: tooling belongs to cmd/aias and tests only", prog, d)
			}
		}
	}
}

// The ingress states no SQL of its own: its reads and writes go through
// the domain packages, which own their statements.
func TestTheIngressImportsNoSQLLibrary(t *testing.T) {
	t.Parallel()
	imports := goList(t, "-f", `{{join .Imports " "}}`, "aias/internal/ingress")
	if len(imports) < 10 {
		t.Fatalf("imports of aias/internal/ingress = %v; want its whole list", imports)
	}
	for _, p := range imports {
		if p == "database/sql" || strings.HasPrefix(p, "github.com/jmoiron/sqlx") || strings.HasPrefix(p, "github.com/lib/pq") {
			t.Errorf("aias/internal/ingress imports %s", p)
		}
	}
}
