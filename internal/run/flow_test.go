package run

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"aias/internal/step"
	"aias/internal/workflow"
)

// flowEnv is a small but realistic expression environment, with a secret.
func flowEnv() step.Env {
	return step.Env{
		"trigger": map[string]any{
			"body": map[string]any{"order": map[string]any{"id": "o-1", "total": 150.0, "tags": []any{"a", "b"}}},
		},
		"steps":         map[string]any{"normalize": map[string]any{"output": map[string]any{"id": "o-1", "total": 180.0}}},
		"run":           map[string]any{"id": "run-1", "attempt": 1, "workflow_version": 3},
		"step":          map[string]any{"name": "notify"},
		step.SecretsKey: map[string]string{"ORDERS_TOKEN": "tok_9f8e7d6c5b4a"},
	}
}

// flowWalker is a walker whose clock stands at now.
func flowWalker(now time.Time) *walker {
	return &walker{e: &Executor{Now: func() time.Time { return now }}}
}

// decide runs one decision of a control node of type typ.
func decide(t *testing.T, w *walker, s workflow.Step, env step.Env) (step.Result, error) {
	t.Helper()
	n, ok := nodes[s.Kind()]
	if !ok {
		t.Fatalf("%q is not a control node", s.Type)
	}
	return n.decide(context.Background(), w, s, env)
}

// recorded gives a value the shape a recorded (JSON) output has.
func recorded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(b)
}

func mustPermanent(t *testing.T, err error) {
	t.Helper()
	if err == nil || !step.IsPermanent(err) {
		t.Fatalf("error = %v, want a permanent one", err)
	}
}

func TestEveryControlKindIsAnEngineNode(t *testing.T) {
	t.Parallel()
	if len(nodes) != len(workflow.ControlKinds) {
		t.Errorf("%d nodes for %d control kinds", len(nodes), len(workflow.ControlKinds))
	}
	for typ, kind := range workflow.ControlKinds {
		if _, ok := nodes[kind]; !ok {
			t.Errorf("no engine node for %s", typ)
		}
		if _, ok := flowWalker(time.Now()).runner(workflow.Step{Type: typ}); !ok {
			t.Errorf("a %s step cannot be run", typ)
		}
	}
	if _, ok := flowWalker(time.Now()).runner(workflow.Step{Type: "teleport"}); ok {
		t.Error("an unknown type can be run")
	}
}

func TestConditionPassesStopsOrFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		with     map[string]any
		want     any
		wantFail string
	}{
		{"true passes", map[string]any{"if": "steps.normalize.output.total > 100"}, map[string]any{"passed": true}, ""},
		{"false stops by default", map[string]any{"if": "steps.normalize.output.total > 1000"}, map[string]any{"passed": false}, ""},
		{"false stops when asked", map[string]any{"if": "false", "on_false": "stop"}, map[string]any{"passed": false}, ""},
		{"false fails when asked", map[string]any{"if": "run.attempt > 5", "on_false": "fail"}, nil, "condition run.attempt > 5 is false"},
		{"non-boolean fails", map[string]any{"if": "trigger.body.order.id"}, nil, `condition "trigger.body.order.id" produced string, not a boolean`},
		{"secrets are not there", map[string]any{"if": "secrets?.ORDERS_TOKEN != nil"}, map[string]any{"passed": false}, ""},
	}
	for _, tt := range tests {
		res, err := decide(t, flowWalker(time.Now()), workflow.Step{Name: "gate", Type: "condition", With: tt.with}, flowEnv())
		if tt.wantFail != "" {
			mustPermanent(t, err)
			if err.Error() != tt.wantFail {
				t.Errorf("%s: error = %q, want %q", tt.name, err, tt.wantFail)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, res.Output); diff != "" {
			t.Errorf("%s: output (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestARecordedConditionStopsTheWalkOnlyWhenItFailed(t *testing.T) {
	t.Parallel()
	s := workflow.Step{Name: "gate", Type: "condition"}
	for out, want := range map[string]error{`{"passed":true}`: nil, `{"passed":false}`: errStopped} {
		env := flowEnv()
		err := condition{}.next(context.Background(), flowWalker(time.Now()), s, decodeJSON([]byte(out)), false, env)
		if (want == nil) != (err == nil) || !errors.Is(err, want) {
			t.Errorf("next(%s) = %v, want %v", out, err, want)
		}
		if got := env["steps"].(map[string]any)["gate"]; !cmp.Equal(got, map[string]any{"output": decodeJSON([]byte(out))}) {
			t.Errorf("steps.gate = %v after %s", got, out)
		}
	}
}

func TestDelayComputesWhenTheRunContinues(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	w := flowWalker(now)
	res, err := decide(t, w, workflow.Step{Type: "delay", With: map[string]any{"for": "90s"}}, flowEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(90 * time.Second)
	if !res.Until.Equal(want) {
		t.Errorf("for 90s waits until %s, want %s", res.Until, want)
	}
	if diff := cmp.Diff(map[string]any{"until": "2030-05-01T10:01:30.123456789Z"}, res.Output); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if until, ok := untilOf(recorded(t, res.Output)); !ok || !until.Equal(want) {
		t.Errorf("recorded output %v gives back %s, %v; want %s", res.Output, until, ok, want)
	}

	at := now.Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	env := flowEnv()
	env["trigger"].(map[string]any)["body"] = map[string]any{"at": at.Format(time.RFC3339), "unix": float64(at.Unix()), "bad": "tomorrow"}
	for _, src := range []string{"trigger.body.at", "trigger.body.unix"} {
		res, err := decide(t, w, workflow.Step{Type: "delay", With: map[string]any{"until": src}}, env)
		if err != nil {
			t.Fatalf("until %s: %v", src, err)
		}
		if !res.Until.Equal(at) {
			t.Errorf("until %s = %s, want %s", src, res.Until, at)
		}
	}
	for src, msg := range map[string]string{
		"trigger.body.bad":       `delay until: "tomorrow" is not an RFC 3339 time`,
		"'2999-01-01T00:00:00Z'": "delay until 2999-01-01T00:00:00Z is more than 8784h0m0s away",
		"trigger.body.missing":   "delay until: got <nil>, want an RFC 3339 string or Unix seconds",
	} {
		_, err := decide(t, w, workflow.Step{Type: "delay", With: map[string]any{"until": src}}, env)
		mustPermanent(t, err)
		if err.Error() != msg {
			t.Errorf("until %s: error = %q, want %q", src, err, msg)
		}
	}
}

func TestARecordedDelayInThePastContinuesAndAFreshOneParks(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	s := workflow.Step{Name: "wait", Type: "delay"}
	past := decodeJSON([]byte(`{"until":"2030-05-01T11:59:59.5Z"}`))
	if err := (delay{}).next(context.Background(), flowWalker(now), s, past, false, flowEnv()); err != nil {
		t.Errorf("a delay recorded in the past: next = %v, want nil", err)
	}
	future := decodeJSON([]byte(`{"until":"2030-05-01T12:00:00.000000001Z"}`))
	w := flowWalker(now)
	w.parked = true // its commit parked the run
	err := (delay{}).next(context.Background(), w, s, future, true, flowEnv())
	var d *DelayError
	if !errors.As(err, &d) || !d.Until.Equal(now.Add(time.Nanosecond)) {
		t.Errorf("a fresh delay: next = %v, want a DelayError until a nanosecond from now", err)
	}
	// A fresh delay whose commit did not park the run goes on, even if the
	// clock has not yet passed it: the walk follows what was committed.
	if err := (delay{}).next(context.Background(), flowWalker(now), s, future, true, flowEnv()); err != nil {
		t.Errorf("a fresh delay that did not park the run: next = %v, want nil", err)
	}
}

func TestADelayWhoseTimeHasPassedDoesNotParkTheRun(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, with := range []map[string]any{{"until": "'2000-01-01T00:00:00Z'"}, {"for": "0s"}, {"for": "-1m"}} {
		res, err := decide(t, flowWalker(now), workflow.Step{Type: "delay", With: with}, flowEnv())
		if err != nil {
			t.Fatalf("%v: %v", with, err)
		}
		if !res.Until.IsZero() {
			t.Errorf("%v: Until = %s, want none (the run goes on at once)", with, res.Until)
		}
	}
}

func TestSwitchChoosesTheFirstCaseThatHolds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		whens []string
		want  float64
	}{
		{[]string{"trigger.body.order.total > 200", "trigger.body.order.total > 100", "true"}, 1},
		{[]string{"false", "steps.normalize.output.id == 'o-1'"}, 1},
		{[]string{"false", "1 > 2"}, -1},
		{[]string{"secrets?.ORDERS_TOKEN != nil"}, -1}, // a case reads no secrets
	}
	for _, tt := range tests {
		s := workflow.Step{Type: "switch"}
		for _, w := range tt.whens {
			s.Cases = append(s.Cases, workflow.Case{When: w})
		}
		res, err := decide(t, flowWalker(time.Now()), s, flowEnv())
		if err != nil {
			t.Fatalf("%v: %v", tt.whens, err)
		}
		out := recorded(t, res.Output)
		if diff := cmp.Diff(map[string]any{"case": tt.want}, out); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.whens, diff)
		}
		if k, ok := caseOf(out); !ok || float64(k) != tt.want {
			t.Errorf("caseOf(%v) = %d, %v", out, k, ok)
		}
	}
	_, err := decide(t, flowWalker(time.Now()), workflow.Step{Type: "switch", Cases: []workflow.Case{{When: "trigger.body.order.id"}}}, flowEnv())
	mustPermanent(t, err) // not a boolean
}

func TestForeachEvaluatesItsItemsWithinThePlansLimit(t *testing.T) {
	t.Parallel()
	each := func(items string) workflow.Step {
		return workflow.Step{Type: "foreach", With: map[string]any{"items": items}}
	}
	w := flowWalker(time.Now())
	res, err := decide(t, w, each("trigger.body.order.tags"), flowEnv())
	if err != nil {
		t.Fatal(err)
	}
	if items, ok := itemsOf(recorded(t, res.Output)); !ok || !cmp.Equal(items, []any{"a", "b"}) {
		t.Errorf("items = %v", res.Output)
	}
	res, err = decide(t, w, each("trigger.body.missing"), flowEnv())
	if items, ok := itemsOf(res.Output); err != nil || !ok || len(items) != 0 {
		t.Errorf("nil items = %v, %v; want an empty list", res.Output, err)
	}
	w.maxItems = 1
	_, err = decide(t, w, each("trigger.body.order.tags"), flowEnv())
	mustPermanent(t, err)
	if !strings.Contains(err.Error(), "the plan allows at most 1 per foreach") {
		t.Errorf("error = %v, want the plan's limit", err)
	}
	_, err = decide(t, w, each("trigger.body.order.total"), flowEnv())
	mustPermanent(t, err) // not a list
	res, err = decide(t, w, each("secrets"), flowEnv())
	if items, _ := itemsOf(res.Output); err != nil || len(items) != 0 {
		t.Errorf("items of secrets = %v, %v; want none: a foreach reads no secrets", res.Output, err)
	}
}
