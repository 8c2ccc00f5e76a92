package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
	"aias/internal/step"
)

// controlProblems validates a definition whose second step is a control
// node of type typ with the given with block (and the branches its kind
// needs), and returns every problem as "path: message", the with block's
// path written "w".
func controlProblems(t *testing.T, typ string, with map[string]any) []string {
	t.Helper()
	s := Step{Name: "b", Type: typ, With: with}
	switch s.Kind() {
	case Switch:
		s.Cases = []Case{{When: "true", Steps: []Step{logStep("c")}}}
	case Foreach:
		s.Steps = []Step{logStep("c")}
	}
	got := []string{}
	err := withStep(s).Validate()
	if err == nil {
		return got
	}
	e, ok := errs.As(err)
	if !ok || e.Code != "validation_failed" {
		t.Fatalf("Validate = %v, want validation_failed", err)
	}
	for _, f := range e.Fields {
		got = append(got, strings.Replace(f.Path, "steps[1].with", "w", 1)+": "+f.Message)
	}
	return got
}

func TestControlKindsAreTheEnginesAndKnownToValidation(t *testing.T) {
	t.Parallel()
	for typ, kind := range ControlKinds {
		if _, ok := step.Lookup(typ); ok {
			t.Errorf("%s is both a control node and a step type", typ)
		}
		if got := (Step{Type: typ}).Kind(); got != kind || got == Work {
			t.Errorf("Step{Type: %q}.Kind() = %v, want %v", typ, got, kind)
		}
	}
	if got := (Step{Type: "http"}).Kind(); got != Work {
		t.Errorf("an http step is of kind %v, want Work", got)
	}
	want := `unknown step type "teleport" (known: artifact, callback, condition, delay, foreach, http, log, switch, transform)`
	if diff := cmp.Diff([]string{"steps[1].type: " + want}, controlProblems(t, "teleport", nil)); diff != "" {
		t.Errorf("unknown type (-want +got):\n%s", diff)
	}
}

func TestConditionValidation(t *testing.T) {
	t.Parallel()
	const placement = "secrets may only be used in an http step's url, headers and body"
	tests := []struct {
		with map[string]any
		want []string
	}{
		{map[string]any{"if": "run.attempt > 1", "on_false": "fail"}, []string{}},
		{map[string]any{"if": "true", "on_false": "stop"}, []string{}},
		{map[string]any{"if": 3.0, "on_false": "maybe"}, []string{"w.if: must be a non-empty string", `w.on_false: must be "stop" or "fail"`}},
		{map[string]any{}, []string{"w.if: is required"}},
		{map[string]any{"if": "true", "else": "x"}, []string{"w.else: unknown field"}},
		{map[string]any{"if": `secrets.A == "x"`}, []string{"w.if: " + placement}},
		{map[string]any{"if": "true", "on_false": "{{ secrets.X }}"}, []string{"w.on_false: " + placement}},
		{map[string]any{"if": "steps.c.output"}, []string{`w.if: references unknown step "c"`}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, controlProblems(t, "condition", tt.with)); diff != "" {
			t.Errorf("condition with %v (-want +got):\n%s", tt.with, diff)
		}
	}
}

func TestDelayValidationNeedsExactlyOneOfForAndUntil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		with map[string]any
		want []string
	}{
		{map[string]any{"for": "15m"}, []string{}},
		{map[string]any{"for": "8784h"}, []string{}},
		{map[string]any{"until": "trigger.body.remind_at"}, []string{}},
		{map[string]any{}, []string{"w: must have for (a duration) or until (a time)"}},
		{map[string]any{"for": "1m", "until": "run.id"}, []string{"w: must have either for or until, not both"}},
		{map[string]any{"for": "soon"}, []string{"w.for: must be a positive duration such as 90s, 15m or 48h, at most 8784h0m0s"}},
		{map[string]any{"for": "-1s"}, []string{"w.for: must be a positive duration such as 90s, 15m or 48h, at most 8784h0m0s"}},
		{map[string]any{"for": "9000h"}, []string{"w.for: must be a positive duration such as 90s, 15m or 48h, at most 8784h0m0s"}},
		{map[string]any{"until": "(("}, []string{"w.until: invalid expression: unexpected token EOF (line 1, column 2)"}},
		{map[string]any{"until": "secrets.T"}, []string{"w.until: secrets may only be used in an http step's url, headers and body"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, controlProblems(t, "delay", tt.with)); diff != "" {
			t.Errorf("delay with %v (-want +got):\n%s", tt.with, diff)
		}
	}
}

func TestSwitchAndForeachValidateTheirWith(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  string
		with map[string]any
		want []string
	}{
		{"switch", nil, []string{}},
		{"switch", map[string]any{"when": "true"}, []string{"w.when: unknown field"}},
		{"foreach", map[string]any{"items": "trigger.body"}, []string{}},
		{"foreach", map[string]any{}, []string{"w.items: is required"}},
		{"foreach", map[string]any{"items": "trigger.body", "extra": 1.0}, []string{"w.extra: unknown field"}},
		{"foreach", map[string]any{"items": "secrets.A"}, []string{"w.items: secrets may only be used in an http step's url, headers and body"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, controlProblems(t, tt.typ, tt.with)); diff != "" {
			t.Errorf("%s with %v (-want +got):\n%s", tt.typ, tt.with, diff)
		}
	}
}

func TestEveryControlNodeHasRulesAndReadsNoSecrets(t *testing.T) {
	t.Parallel()
	if len(controls) != len(ControlKinds) {
		t.Errorf("%d control rules for %d control kinds", len(controls), len(ControlKinds))
	}
	for typ, kind := range ControlKinds {
		c, ok := controls[kind]
		if !ok {
			t.Errorf("no rules for %s", typ)
		}
		for _, f := range c.schema {
			if f.Secrets {
				t.Errorf("%s.with.%s may read secrets", typ, f.Name)
			}
		}
	}
}
