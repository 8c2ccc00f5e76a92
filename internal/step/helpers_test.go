package step

import (
	"testing"

	"aias/internal/errs"
)

// testEnv is a small but realistic expression environment.
func testEnv() Env {
	return Env{
		"trigger": map[string]any{
			"body": map[string]any{
				"order": map[string]any{"id": "o-1", "total": 150.0, "tags": []any{"a", "b"}},
			},
			"headers": map[string]string{"x-source": "shop"},
		},
		"steps": map[string]any{
			"normalize": map[string]any{"output": map[string]any{"id": "o-1", "total": 180.0}},
		},
		"run":  map[string]any{"id": "run-1", "attempt": 1, "workflow_version": 3},
		"step": map[string]any{"name": "notify"},
	}
}

// paths returns the paths of problems, for compact comparisons.
func paths(problems []errs.FieldError) []string {
	out := []string{}
	for _, p := range problems {
		out = append(out, p.Path)
	}
	return out
}

func mustPermanent(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a permanent one")
	}
	if !IsPermanent(err) {
		t.Fatalf("error %q is retryable, want permanent", err)
	}
}

func mustRetryable(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a retryable one")
	}
	if IsPermanent(err) {
		t.Fatalf("error %q is permanent, want retryable", err)
	}
}
