package step

import (
	"context"
	"testing"
)

// Inside a foreach body (walked by the engine, package run) expressions see
// item and index, and every iteration's step instance has a name of its own.

func TestItemAndIndexCompileAsAnyValue(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"item * 2", "item.id", "item[0]", "index + 1", "item ?? 'none'"} {
		if err := CompileExpr(src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
	if err := CompileExpr("itme.id"); err == nil {
		t.Error("a misspelt root compiles")
	}
	out, err := Eval(context.Background(), "item.qty * index", Env{"item": map[string]any{"qty": 3.0}, "index": 2})
	if err != nil || out != 6.0 {
		t.Errorf("item.qty * index = %v, %v", out, err)
	}
}

func TestIdempotencyKeysAreUniquePerForeachIteration(t *testing.T) {
	t.Parallel()
	env := Env{"run": map[string]any{"id": "r1"}, "step": map[string]any{"name": "post"}}
	if got := idempotencyKey(env); got != "r1:post" {
		t.Errorf("top-level key = %q", got)
	}
	env["step"] = map[string]any{"name": "post", "instance": "post[2][0]"}
	if got := idempotencyKey(env); got != "r1:post[2][0]" {
		t.Errorf("iteration key = %q, want r1:post[2][0]", got)
	}
}
