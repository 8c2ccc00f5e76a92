package step

import (
	"context"
	"testing"
)

// benchEnv is what a step of the bench workflow sees: the trigger and one
// earlier step's output.
func benchEnv() Env {
	return Env{
		"trigger": map[string]any{"body": map[string]any{"order": map[string]any{"id": "A-1", "total": 120.0}}},
		"steps":   map[string]any{"normalize": map[string]any{"output": map[string]any{"id": "A-1", "total": 144.0}}},
	}
}

// BenchmarkEval is one expression of a transform step (the compiled
// program is cached; this is the VM run).
func BenchmarkEval(b *testing.B) {
	ctx, env := context.Background(), benchEnv()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Eval(ctx, "trigger.body.order.total * 1.2", env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalValue is a transform's whole output object.
func BenchmarkEvalValue(b *testing.B) {
	ctx, env := context.Background(), benchEnv()
	v := map[string]any{"id": "trigger.body.order.id", "total": "trigger.body.order.total * 1.2",
		"large": "steps.normalize.output.total > 100"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EvalValue(ctx, v, env); err != nil {
			b.Fatal(err)
		}
	}
}
