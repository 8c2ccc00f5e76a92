package workflow

import (
	"slices"
	"strings"
	"testing"

	"aias/internal/errs"
)

func transformStep(name, output string) Step {
	return Step{Name: name, Type: "transform", With: map[string]any{"output": output}}
}

// nested is a definition with a switch and a foreach, every step named.
func nested() Definition {
	return Definition{Name: "wf", Steps: []Step{
		transformStep("a", "1"),
		{Name: "route", Type: "switch", Cases: []Case{
			{When: "steps.a.output == 1", Steps: []Step{transformStep("one", "steps.a.output")}},
			{When: "true", Steps: []Step{transformStep("two", "2")}},
		}, Default: []Step{transformStep("other", "3")}},
		{Name: "each", Type: "foreach", With: map[string]any{"items": "[1, 2]"}, Steps: []Step{
			transformStep("double", "item * 2"),
			transformStep("plus", "steps.double.output + index"),
		}},
		transformStep("after", "steps.one.output ?? steps.two.output"),
	}}
}

func TestWalkNumbersStepsInTreeOrder(t *testing.T) {
	t.Parallel()
	var got []string
	for _, n := range nested().Walk() {
		got = append(got, n.Path)
	}
	want := []string{"steps[0]", "steps[1]", "steps[1].cases[0].steps[0]", "steps[1].cases[1].steps[0]",
		"steps[1].default[0]", "steps[2]", "steps[2].steps[0]", "steps[2].steps[1]", "steps[3]"}
	if !slices.Equal(got, want) {
		t.Fatalf("Walk paths = %v\nwant %v", got, want)
	}
	if err := nested().Validate(); err != nil {
		t.Fatalf("a valid nested definition: %v", err)
	}
}

func problemAt(t *testing.T, err error, path, message string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error = %v, want a validation error", err)
	}
	for _, f := range e.Fields {
		if f.Path == path && strings.Contains(f.Message, message) {
			return
		}
	}
	t.Fatalf("no problem %q at %s in %v", message, path, e.Fields)
}

func TestNestedStepsAreValidatedWithTheirScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(d *Definition)
		path    string
		message string
	}{
		{"a name used twice across branches", func(d *Definition) {
			d.Steps[1].Default[0].Name = "one"
		}, "steps[1].default[0].name", "duplicates the name of steps[1].cases[0].steps[0]"},
		{"reading another branch of the same switch", func(d *Definition) {
			d.Steps[1].Default[0].With["output"] = "steps.one.output"
		}, "steps[1].default[0].with.output", "is in another branch of steps[1]"},
		{"reading a foreach body from outside", func(d *Definition) {
			d.Steps[3].With["output"] = "steps.double.output"
		}, "steps[3].with.output", "inside the foreach steps[2]"},
		{"a case reading its own branch", func(d *Definition) {
			d.Steps[1].Cases[1].When = "steps.two.output == 2"
		}, "steps[1].cases[1].when", "does not run before"},
		{"a case that does not compile", func(d *Definition) {
			d.Steps[1].Cases[0].When = "1 +"
		}, "steps[1].cases[0].when", "invalid expression"},
		{"a case without steps", func(d *Definition) {
			d.Steps[1].Cases[0].Steps = nil
		}, "steps[1].cases[0].steps", "at least one step"},
		{"a switch without cases", func(d *Definition) {
			d.Steps[1].Cases = nil
		}, "steps[1].cases", "at least one case"},
		{"a foreach without a body", func(d *Definition) {
			d.Steps[2].Steps = nil
		}, "steps[2].steps", "at least one step"},
		{"a body on a plain step", func(d *Definition) {
			d.Steps[0].Steps = []Step{transformStep("x", "1")}
		}, "steps[0].steps", "only a foreach"},
		{"a case reading a secret", func(d *Definition) {
			d.Steps[1].Cases[0].When = "secrets.TOKEN == 'x'"
		}, "steps[1].cases[0].when", "secrets may only be used"},
		{"a bad step retry policy", func(d *Definition) {
			d.Steps[0].Retry = &Retry{MaxAttempts: 30, Backoff: "10s", MaxBackoff: "1s"}
		}, "steps[0].retry.max_attempts", "between 1 and 25"},
		{"backoff above its cap", func(d *Definition) {
			d.Retry = &Retry{Backoff: "10s", MaxBackoff: "1s"}
		}, "retry.max_backoff", "must not be shorter than backoff"},
		{"a step timeout too long", func(d *Definition) {
			d.Steps[0].Timeout = "1h"
		}, "steps[0].timeout", "between 1s and 10m0s"},
		{"a run timeout that is not a duration", func(d *Definition) {
			d.Timeout = "soon"
		}, "timeout", "must be a duration"},
		{"a concurrency key reading a step", func(d *Definition) {
			d.ConcurrencyKey = "steps.a.output"
		}, "concurrency_key", "may only read trigger"},
		{"a concurrency key reading a secret", func(d *Definition) {
			d.ConcurrencyKey = "secrets.K"
		}, "concurrency_key", "may only read trigger"},
		{"nesting too deep", func(d *Definition) {
			inner := []Step{transformStep("leaf", "1")}
			for i := range MaxDepth + 1 {
				inner = []Step{{Name: "level" + string(rune('a'+i)), Type: "foreach", With: map[string]any{"items": "[1]"}, Steps: inner}}
			}
			d.Steps = append(d.Steps, inner...)
		}, "steps[4].steps[0].steps[0].steps[0].steps[0].steps[0]", "at most 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := nested()
			tt.edit(&d)
			problemAt(t, d.Validate(), tt.path, tt.message)
		})
	}
}

func TestPlanLimitsCountNestedStepsAndRefuseMissingFeatures(t *testing.T) {
	t.Parallel()
	d := nested()
	problemAt(t, d.ValidateWithin(Limits{MaxSteps: 8}), "steps", "at most 8 steps, counting those inside switch and foreach steps; this has 9")
	problemAt(t, d.ValidateWithin(Limits{Plan: "free", NoForeach: true}), "steps[2].type", "foreach steps are not included in the free plan")
	if err := d.ValidateWithin(Limits{MaxSteps: 9}); err != nil {
		t.Errorf("9 steps within a limit of 9: %v", err)
	}
}

func TestSecretNamesIncludeNestedHTTPSteps(t *testing.T) {
	t.Parallel()
	d := nested()
	d.Steps[2].Steps = append(d.Steps[2].Steps, Step{Name: "call", Type: "http", With: map[string]any{
		"url": "https://example.com/{{ item }}", "headers": map[string]any{"Authorization": "Bearer {{ secrets.API }}"}}})
	if got := d.SecretNames(); !slices.Equal(got, []string{"API"}) {
		t.Errorf("SecretNames = %v, want [API]", got)
	}
}

func TestDecodeReportsUnknownFieldsInsideBranches(t *testing.T) {
	t.Parallel()
	_, err := Decode([]byte(`
name: wf
retry: { max_attempts: 3, jitter: maybe }
steps:
  - name: route
    type: switch
    cases:
      - { when: "true", steps: [ { name: a, type: log, colour: red } ], extra: 1 }
`), "application/yaml")
	problemAt(t, err, "retry.jitter", "must be true or false")
	problemAt(t, err, "steps[0].cases[0].steps[0].colour", "unknown field")
	problemAt(t, err, "steps[0].cases[0].extra", "unknown field")
}
