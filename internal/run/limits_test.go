package run_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"aias/internal/run"
)

// A step may store at most 1 MiB of output and logs; more fails the step
// for good before anything of it is stored.
func TestAStepOutputOverTheCapFailsTheRunForGood(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	for _, s := range []string{
		`{ name: big, type: transform, with: { output: "map(1..200000, 'xxxxxxxx')" } }`,
		`{ name: big, type: log, with: { message: "many", fields: { all: "map(1..200000, 'xxxxxxxx')" } } }`,
	} {
		id := b.newRun(t, fmt.Sprintf("name: big-%d\nsteps:\n  - %s\n", len(s), s))
		if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
			t.Fatalf("Execute = %v, want the run failed and the task done", err)
		}
		r, steps := b.get(t, id)
		if r.Status != run.Failed || !strings.Contains(deref(r.Error), "more than 1 MiB, the most a step may store") {
			t.Fatalf("%s: run = %s (%s), want failed for its output's size", s, r.Status, deref(r.Error))
		}
		if len(steps) != 1 || steps[0].Status != run.StepFailed || len(steps[0].Output) > 4 || len(steps[0].Logs) > 4 {
			t.Fatalf("%s: step records = %+v, want one failed record without output or logs", s, steps)
		}
	}
}

// The review's CPU bomb inside a step: a regex in a reduce over 12,000
// items stops at the step's one-second timeout, and the run fails for good
// instead of retrying the same expression.
func TestAnExpressionPastItsStepTimeoutFailsTheRunForGood(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, `
name: slow
steps:
  - name: scan
    type: transform
    timeout: 1s
    with: { output: "reduce(1..12000, #acc + (repeat('ab', 20000) matches '(a|b)*c$' ? 1 : 0), 0)" }
`)
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v, want the run failed and the task done", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Failed || !strings.Contains(deref(r.Error), "expression stopped") {
		t.Fatalf("run = %s (%s), want failed with the expression stopped", r.Status, deref(r.Error))
	}
}
