package step

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompileExprAcceptsValidAndRejectsBadExpressions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{"member chain of unknown body fields", "trigger.body.order.total * 1.2", ""},
		{"earlier step output", `steps.normalize.output.id + "-x"`, ""},
		{"bracket lookup", `steps["big-only"].output.passed`, ""},
		{"run and step", `run.attempt > 1 && step.name != ""`, ""},
		{"optional chaining and default", `trigger.body?.missing?.x ?? 0`, ""},
		{"syntax error", "trigger.body.total *", "invalid expression"},
		{"unknown root variable", "secret.TOKEN", "unknown name secret"},
		{"secrets is a known root", "secrets.TOKEN", ""},
		{"empty", "", "invalid expression"},
		{"too long", strings.Repeat("1+", MaxExprBytes) + "1", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CompileExpr(tt.src)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CompileExpr(%q) = %v, want nil", tt.src, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CompileExpr(%q) = %v, want error containing %q", tt.src, err, tt.wantErr)
			}
		})
	}
}

func TestCompileExprErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	err := CompileExpr("1 +")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("CompileExpr error = %q, want a single line", err)
	}
}

func TestEvalReadsEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want any
	}{
		{"trigger.body.order.total * 2", 300.0},
		{"steps.normalize.output.id", "o-1"},
		{"run.attempt", 1},
		{`trigger.headers["x-source"]`, "shop"},
		{"len(trigger.body.order.tags)", 2},
		{"trigger.body.missing", nil},
		{"trigger.body.missing?.deeper", nil},
		{`trigger.body.missing ?? "default"`, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			got, err := Eval(context.Background(), tt.src, testEnv())
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Eval(%q) mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestEvalRuntimeErrorIsPermanent(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"trigger.body.missing.deeper", // member of nil
		"trigger.body.order.tags[5]",  // index out of range
		"trigger.body.order.id * 2",   // string times number
		"syntax error (",              // compile failure at run time
		"len(map(1..1000000, {[#, #, #]}))",
	} {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			_, err := Eval(context.Background(), src, testEnv())
			mustPermanent(t, err)
		})
	}
}

func TestEvalHonoursCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Eval(ctx, "1 + 1", testEnv())
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("Eval with cancelled context = %v, want retryable context.Canceled", err)
	}
}

func TestProgramCacheStaysBounded(t *testing.T) {
	t.Parallel()
	c := &programCache{m: map[string]program{}}
	for i := range cacheSize + 10 {
		c.put(strings.Repeat("x", i), program{})
	}
	if n := len(c.m); n > cacheSize {
		t.Fatalf("cache holds %d programs, want at most %d", n, cacheSize)
	}
}

func TestStepRefsFindsStaticReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want []string
	}{
		{"trigger.body.x", nil},
		{"steps.a.output", []string{"a"}},
		{`steps["b-c"].output.x + steps.a.output.y`, []string{"b-c", "a"}},
		{"steps.a.output + steps.a.output", []string{"a"}},
		{"steps?.a?.output", []string{"a"}},
		{"map(steps.list.output, #.id)", []string{"list"}},
		{"steps[trigger.body.which]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			got, err := StepRefs(tt.src)
			if err != nil {
				t.Fatalf("StepRefs: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("StepRefs(%q) mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{"trigger.body.a * 2", `steps["x"].output`, "1 +", "{{", `map(1..3, # * 2)`, "a ?? b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if err := CompileExpr(src); err != nil {
			return
		}
		// Whatever compiles must evaluate without panicking and be
		// inspectable for references.
		_, _ = Eval(context.Background(), src, testEnv())
		if _, err := StepRefs(src); err != nil {
			t.Fatalf("StepRefs(%q) failed on a compiling expression: %v", src, err)
		}
	})
}
