package step

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEvalValueEvaluatesNestedStructures(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"id":    "steps.normalize.output.id",
		"items": []any{"run.attempt", 7.0, nil, true},
		"inner": map[string]any{"total": "trigger.body.order.total / 3"},
	}
	want := map[string]any{
		"id":    "o-1",
		"items": []any{1, 7.0, nil, true},
		"inner": map[string]any{"total": 50.0},
	}
	got, err := EvalValue(context.Background(), in, testEnv())
	if err != nil {
		t.Fatalf("EvalValue: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("EvalValue mismatch (-want +got):\n%s", diff)
	}
}

func TestCompileValueReportsEveryBadExpressionWithItsPath(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"ok":           "run.id",
		"total":        "1 +",
		"list":         []any{"run.id", "(("},
		"Content-Type": "nope nope",
		"odd key":      ")",
	}
	// Only keys outside [A-Za-z0-9_-] are quoted in paths.
	got := paths(CompileValue(in, "w"))
	want := []string{"w.Content-Type", "w.list[1]", `w["odd key"]`, "w.total"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CompileValue paths mismatch (-want +got):\n%s", diff)
	}
}

func TestPermanentMarksAndSurvivesWrapping(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"plain", base, false},
		{"marked", Permanent(base), true},
		{"wrapped after marking", errors.Join(errors.New("ctx"), Permanent(base)), true},
		{"nil", Permanent(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsPermanent(tt.err); got != tt.want {
				t.Fatalf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(Permanent(base), base) {
		t.Fatal("Permanent hides the cause from errors.Is")
	}
}

// The registry holds the types that do work; control flow is the engine's.
func TestRegistryListsBuiltinsSorted(t *testing.T) {
	t.Parallel()
	want := []string{"artifact", "callback", "http", "log", "transform"}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Fatalf("Names mismatch (-want +got):\n%s", diff)
	}
	for _, n := range want {
		if typ, ok := Lookup(n); !ok || typ.Name() != n {
			t.Fatalf("Lookup(%q) = %v, %v", n, typ, ok)
		}
	}
	if _, ok := Lookup("sleep"); ok {
		t.Fatal("Lookup found a type that is not built in")
	}
}
