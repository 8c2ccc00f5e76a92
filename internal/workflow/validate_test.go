package workflow

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
)

func logStep(name string) Step {
	return Step{Name: name, Type: "log", With: map[string]any{"message": "hi"}}
}

// withStep returns a valid one-step-prefixed definition whose second step
// is s, so each case exercises exactly one rule.
func withStep(s Step) Definition {
	return Definition{Name: "wf", Steps: []Step{logStep("first"), s}}
}

func TestValidateReportsEachProblemAtItsPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		def     Definition
		path    string
		message string
	}{
		{"missing name", Definition{Steps: []Step{logStep("a")}}, "name", "is required"},
		{"long name", Definition{Name: strings.Repeat("n", 101), Steps: []Step{logStep("a")}}, "name", "at most 100"},
		{"name with space", Definition{Name: "my flow", Steps: []Step{logStep("a")}}, "name", "only letters"},
		{"long description", Definition{Name: "wf", Description: strings.Repeat("d", 1001), Steps: []Step{logStep("a")}}, "description", "at most"},
		{"max_attempts too high", Definition{Name: "wf", MaxAttempts: 26, Steps: []Step{logStep("a")}}, "max_attempts", "between 1 and 25"},
		{"max_attempts negative", Definition{Name: "wf", MaxAttempts: -1, Steps: []Step{logStep("a")}}, "max_attempts", "between 1 and 25"},
		{"no steps", Definition{Name: "wf"}, "steps", "at least one"},
		{"missing step name", withStep(Step{Type: "log", With: map[string]any{"message": "m"}}), "steps[1].name", "is required"},
		{"step name not addressable", withStep(Step{Name: "1st", Type: "log", With: map[string]any{"message": "m"}}), "steps[1].name", "must start with"},
		{"step name with dot", withStep(Step{Name: "a.b", Type: "log", With: map[string]any{"message": "m"}}), "steps[1].name", "must start with"},
		{"duplicate step name", withStep(logStep("first")), "steps[1].name", "duplicates the name of steps[0]"},
		{"missing type", withStep(Step{Name: "b"}), "steps[1].type", "is required"},
		{"unknown type", withStep(Step{Name: "b", Type: "email"}), "steps[1].type", `unknown step type "email"`},
		{"with of the step type", withStep(Step{Name: "b", Type: "http", With: map[string]any{"url": "ftp://x"}}), "steps[1].with.url", "absolute http"},
		{"nested expression", withStep(Step{Name: "b", Type: "transform", With: map[string]any{
			"output": map[string]any{"total": "trigger.body.total *"}}}), "steps[1].with.output.total", "invalid expression"},
		{"template", withStep(Step{Name: "b", Type: "log", With: map[string]any{"message": "{{ run.id"}}), "steps[1].with.message", "unclosed"},
		{"self reference", withStep(Step{Name: "b", Type: "transform", With: map[string]any{"output": "steps.b.output"}}),
			"steps[1].with.output", `references step "b" which does not run before this step`},
		{"unknown reference", withStep(Step{Name: "b", Type: "transform", With: map[string]any{"output": "steps.nope.output"}}),
			"steps[1].with.output", `references unknown step "nope"`},
		{"not encodable", withStep(Step{Name: "b", Type: "transform", With: map[string]any{"output": math.Inf(1)}}),
			"steps[1].with", "not JSON-encodable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.def.Validate()
			e, ok := errs.As(err)
			if !ok || e.Code != "validation_failed" {
				t.Fatalf("Validate = %v, want validation_failed", err)
			}
			if len(e.Fields) != 1 || e.Fields[0].Path != tt.path || !strings.Contains(e.Fields[0].Message, tt.message) {
				t.Fatalf("problems = %v, want exactly one at %s containing %q", e.Fields, tt.path, tt.message)
			}
		})
	}
}

func TestValidateRejectsForwardReferences(t *testing.T) {
	t.Parallel()
	d := Definition{Name: "wf", Steps: []Step{
		{Name: "early", Type: "transform", With: map[string]any{"output": map[string]any{
			"a": `steps["late"].output`,
			"b": "steps.early2.output",
		}}},
		{Name: "early2", Type: "transform", With: map[string]any{"output": "steps.early.output"}},
		{Name: "late", Type: "http", With: map[string]any{
			"url":     "https://x/{{ steps.early.output.id }}/{{ steps.late.output }}",
			"headers": map[string]any{"X-A": "{{ steps.later.output }}"},
		}},
		{Name: "later", Type: "log", With: map[string]any{"message": "{{ steps.late.output.status }}"}},
	}}
	e, _ := errs.As(d.Validate())
	want := []errs.FieldError{
		{Path: "steps[0].with.output.a", Message: `references step "late" which does not run before this step`},
		{Path: "steps[0].with.output.b", Message: `references step "early2" which does not run before this step`},
		{Path: "steps[2].with.url", Message: `references step "late" which does not run before this step`},
		{Path: "steps[2].with.headers.X-A", Message: `references step "later" which does not run before this step`},
	}
	if e == nil {
		t.Fatal("Validate accepted forward references")
	}
	if diff := cmp.Diff(want, e.Fields); diff != "" {
		t.Fatalf("problems mismatch (-want +got):\n%s", diff)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	d := Definition{Name: "bad name!", MaxAttempts: 99, Steps: []Step{
		{Name: "a", Type: "transform", With: map[string]any{"output": map[string]any{"total": "1 +"}}},
		{Name: "a", Type: "nope"},
		{Name: "c", Type: "http", With: map[string]any{"url": "not a url", "method": "FETCH", "extra": true}},
		{Name: "d", Type: "condition", With: map[string]any{"if": "steps.e.output"}},
	}}
	want := []string{
		"name",
		"max_attempts",
		"steps[0].with.output.total",
		"steps[1].name",
		"steps[1].type",
		"steps[2].with.extra",
		"steps[2].with.method",
		"steps[2].with.url",
		"steps[3].with.if",
	}
	if diff := cmp.Diff(want, validationPaths(t, d.Validate()), sortStrings); diff != "" {
		t.Fatalf("problem paths mismatch (-want +got):\n%s", diff)
	}
}

func TestValidateEnforcesStepLimit(t *testing.T) {
	t.Parallel()
	steps := func(n int) []Step {
		s := make([]Step, n)
		for i := range s {
			s[i] = logStep(fmt.Sprintf("s%d", i))
		}
		return s
	}
	tests := []struct {
		name   string
		def    Definition
		limits Limits
		want   []string
	}{
		{"default allows 100", Definition{Name: "wf", Steps: steps(MaxSteps)}, Limits{}, []string{}},
		{"default rejects 101", Definition{Name: "wf", Steps: steps(MaxSteps + 1)}, Limits{}, []string{"steps"}},
		{"plan limit", Definition{Name: "wf", Steps: steps(4)}, Limits{MaxSteps: 3}, []string{"steps"}},
		{"within plan limit", Definition{Name: "wf", Steps: steps(3)}, Limits{MaxSteps: 3}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, validationPaths(t, tt.def.ValidateWithin(tt.limits))); diff != "" {
				t.Fatalf("problem paths mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateAcceptsBackwardReferencesAndHyphenatedNames(t *testing.T) {
	t.Parallel()
	d := Definition{Name: "orders.v2_x-y", MaxAttempts: 25, Steps: []Step{
		{Name: "big-only", Type: "condition", With: map[string]any{"if": "trigger.body.total > 1", "on_false": "fail"}},
		{Name: "_note", Type: "log", With: map[string]any{
			"message": `{{ steps["big-only"].output.passed }}`, "level": "debug",
			"fields": map[string]any{"x": `steps["big-only"]?.output`}}},
	}}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func FuzzDecodeValidate(f *testing.F) {
	f.Add([]byte(exampleJSON), false)
	f.Add([]byte(exampleYAML), true)
	f.Add([]byte(`{"name":"x","steps":[{"name":"a","type":"log","with":{"message":"{{ steps.a }}"}}]}`), false)
	f.Add([]byte("name: x\nsteps: [{name: a, type: transform, with: {output: '1 +'}}]"), true)
	f.Fuzz(func(t *testing.T, body []byte, yaml bool) {
		ct := "application/json"
		if yaml {
			ct = "application/yaml"
		}
		d, err := Decode(body, ct)
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("Decode returned an unclassified error: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			if errs.CodeOf(err) != "validation_failed" {
				t.Fatalf("Validate returned %v, want validation_failed", err)
			}
			// Placing the problems in the body neither panics nor
			// changes them, and every line is in the body.
			orig, _ := errs.As(err)
			located, _ := errs.As(Locate(body, err))
			lines := bytes.Count(body, []byte("\n")) + 1
			for i, fe := range located.Fields {
				if o := orig.Fields[i]; fe.Path != o.Path || fe.Message != o.Message || fe.Line < 0 || fe.Line > lines {
					t.Fatalf("Locate changed %+v into %+v (body of %d lines)", o, fe, lines)
				}
			}
			return
		}
		// A valid definition survives its canonical form unchanged.
		again, err := Decode(d.JSON(), "application/json")
		if err != nil {
			t.Fatalf("Decode(JSON()) of a valid definition: %v", err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("canonical form no longer validates: %v", err)
		}
		if diff := cmp.Diff(d.JSON(), again.JSON()); diff != "" {
			t.Fatalf("canonical form is not stable (-first +second):\n%s", diff)
		}
	})
}
