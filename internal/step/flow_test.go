package step

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDelayValidationNeedsExactlyOneOfForAndUntil(t *testing.T) {
	t.Parallel()
	d := mustLookup(t, "delay")
	tests := []struct {
		with map[string]any
		want []string
	}{
		{map[string]any{"for": "15m"}, []string{}},
		{map[string]any{"until": "trigger.body.remind_at"}, []string{}},
		{map[string]any{}, []string{"w"}},
		{map[string]any{"for": "1m", "until": "run.id"}, []string{"w"}},
		{map[string]any{"for": "soon"}, []string{"w.for"}},
		{map[string]any{"for": "-1s"}, []string{"w.for"}},
		{map[string]any{"for": "9000h"}, []string{"w.for"}},
		{map[string]any{"until": "(("}, []string{"w.until"}},
		{map[string]any{"until": "secrets.T"}, []string{"w.until"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, paths(d.Validate(tt.with, "w"))); diff != "" {
			t.Errorf("Validate(%v) paths (-want +got):\n%s", tt.with, diff)
		}
	}
}

func TestDelayComputesWhenTheRunContinues(t *testing.T) {
	t.Parallel()
	d := mustLookup(t, "delay")
	before := time.Now()
	res, err := d.Run(context.Background(), Deps{}, map[string]any{"for": "90s"}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Until.Sub(before); got < 90*time.Second || got > 91*time.Second {
		t.Errorf("for 90s waits until now+%s", got)
	}
	if until, ok := UntilOf(decodeOutput(t, res.Output)); !ok || !until.Equal(res.Until.UTC().Truncate(time.Nanosecond)) {
		t.Errorf("recorded output %v does not give back %s", res.Output, res.Until)
	}

	at := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	env := testEnv()
	env["trigger"].(map[string]any)["body"] = map[string]any{"at": at.Format(time.RFC3339), "unix": float64(at.Unix()), "bad": "tomorrow"}
	want := at.Format(time.RFC3339)
	for _, src := range []string{"trigger.body.at", "trigger.body.unix"} {
		res, err := d.Run(context.Background(), Deps{}, map[string]any{"until": src}, env)
		if err != nil {
			t.Fatalf("until %s: %v", src, err)
		}
		if got := res.Until.UTC().Format(time.RFC3339); got != want {
			t.Errorf("until %s = %s, want %s", src, got, want)
		}
	}
	_, err = d.Run(context.Background(), Deps{}, map[string]any{"until": "trigger.body.bad"}, env)
	mustPermanent(t, err)
	_, err = d.Run(context.Background(), Deps{}, map[string]any{"until": "'2999-01-01T00:00:00Z'"}, env)
	mustPermanent(t, err) // further away than MaxDelay
}

func TestSwitchChoosesTheFirstCaseThatHolds(t *testing.T) {
	t.Parallel()
	env := testEnv()
	tests := []struct {
		whens []string
		want  int
	}{
		{[]string{"trigger.body.order.total > 200", "trigger.body.order.total > 100", "true"}, 1},
		{[]string{"false", "trigger.headers['x-source'] == 'shop'"}, 1},
		{[]string{"false", "1 > 2"}, -1},
	}
	for _, tt := range tests {
		got, err := Choose(context.Background(), tt.whens, env)
		if err != nil || got != tt.want {
			t.Errorf("Choose(%v) = %d, %v; want %d", tt.whens, got, err, tt.want)
		}
	}
	_, err := Choose(context.Background(), []string{"trigger.body.order.id"}, env)
	mustPermanent(t, err) // not a boolean
	if _, err := Choose(context.Background(), []string{"secrets.T == 'x'"}, Env{"secrets": map[string]string{"T": "x"}}); err == nil {
		t.Error("a switch case could read a secret")
	}
	if k, ok := CaseOf(decodeOutput(t, map[string]any{"case": 2})); !ok || k != 2 {
		t.Errorf("CaseOf = %d, %v", k, ok)
	}
}

func TestForeachEvaluatesItsItemsWithinThePlansLimit(t *testing.T) {
	t.Parallel()
	f := mustLookup(t, "foreach")
	if diff := cmp.Diff([]string{"w.items"}, paths(f.Validate(map[string]any{}, "w"))); diff != "" {
		t.Errorf("missing items (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"w.extra"}, paths(f.Validate(map[string]any{"items": "trigger.body", "extra": 1.0}, "w"))); diff != "" {
		t.Errorf("unknown field (-want +got):\n%s", diff)
	}
	res, err := f.Run(context.Background(), Deps{}, map[string]any{"items": "trigger.body.order.tags"}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if items, ok := ItemsOf(res.Output); !ok || len(items) != 2 {
		t.Errorf("items = %v", res.Output)
	}
	res, err = f.Run(context.Background(), Deps{}, map[string]any{"items": "trigger.body.missing"}, testEnv())
	if items, ok := ItemsOf(res.Output); err != nil || !ok || len(items) != 0 {
		t.Errorf("nil items = %v, %v; want an empty list", res.Output, err)
	}
	_, err = f.Run(context.Background(), Deps{MaxForeachItems: 1}, map[string]any{"items": "trigger.body.order.tags"}, testEnv())
	mustPermanent(t, err)
	_, err = f.Run(context.Background(), Deps{}, map[string]any{"items": "trigger.body.order.total"}, testEnv())
	mustPermanent(t, err) // not a list
}

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

// decodeOutput gives a Go value the shape a recorded (JSON) output has.
func decodeOutput(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
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
