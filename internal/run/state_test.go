package run

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The run state machine is in one place: outside state.go no program code
// writes the runs table or calls the functions that move a run. Tooling
// (the bench and the fault suite) and tests may.
func TestOnlyTheStateMachineWritesRuns(t *testing.T) {
	t.Parallel()
	writes := regexp.MustCompile(`(?i)\b(UPDATE\s+runs|DELETE\s+FROM\s+runs|INSERT\s+INTO\s+runs)\b|aias_(insert_run|claim_run|set_run_key|heartbeat|write_step|write_artifact_step|finish_run)\s*\(`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", filepath.Join("internal", "tools"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == filepath.Join("internal", "run", "state.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := writes.FindString(line); m != "" {
				t.Errorf("%s writes runs outside the state machine (%q): make it a transition in internal/run/state.go", rel, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
