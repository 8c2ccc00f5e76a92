package workflow

import (
	"strings"
	"testing"

	"aias/internal/errs"
)

func callbackStep(name string) Step {
	return Step{Name: name, Type: "callback", With: map[string]any{"url": "https://example.com/done"}}
}

// problemsOf validates d within l and returns its field errors.
func problemsOf(t *testing.T, d Definition, l Limits) []errs.FieldError {
	t.Helper()
	err := d.ValidateWithin(l)
	if err == nil {
		return nil
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("ValidateWithin = %v, want a validation error", err)
	}
	return e.Fields
}

func hasProblem(problems []errs.FieldError, path, message string) bool {
	for _, p := range problems {
		if p.Path == path && strings.Contains(p.Message, message) {
			return true
		}
	}
	return false
}

func TestOnFinishValidationReportsEachProblemAtItsPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		onFinish OnFinish
		path     string
		message  string
	}{
		{"url missing", OnFinish{}, "on_finish.url", "is required"},
		{"not http", OnFinish{URL: "mailto:ops@example.com"}, "on_finish.url", "absolute http or https URL"},
		{"template of another scheme", OnFinish{URL: "ftp://{{ trigger.body.host }}"}, "on_finish.url", "absolute http or https URL"},
		{"does not compile", OnFinish{URL: "https://x/{{ run. }}"}, "on_finish.url", "invalid expression"},
		{"unclosed", OnFinish{URL: "https://x/{{ run.id"}, "on_finish.url", "unclosed"},
		{"secret", OnFinish{URL: "https://x/?t={{ secrets.TOKEN }}"}, "on_finish.url", "secrets may only be used"},
		{"step output", OnFinish{URL: "https://x/{{ steps.first.output }}"}, "on_finish.url", "not step outputs"},
		{"unknown status", OnFinish{URL: "https://x", Statuses: []string{"succeeded", "done"}}, "on_finish.statuses[1]", "must be one of succeeded, failed, dead, canceled"},
		{"non-terminal status", OnFinish{URL: "https://x", Statuses: []string{"running"}}, "on_finish.statuses[0]", "must be one of"},
		{"duplicate status", OnFinish{URL: "https://x", Statuses: []string{"failed", "failed"}}, "on_finish.statuses[1]", "duplicates"},
	}
	for _, c := range cases {
		d := Definition{Name: "wf", OnFinish: &c.onFinish, Steps: []Step{logStep("first")}}
		if ps := problemsOf(t, d, Limits{}); !hasProblem(ps, c.path, c.message) {
			t.Errorf("%s: problems %v, want %q at %s", c.name, ps, c.message, c.path)
		}
	}
	for _, o := range []OnFinish{
		{URL: "https://example.com/runs/{{ run.id }}?status={{ run.status }}"},
		{URL: "{{ trigger.body.callback_url }}", Statuses: []string{"failed", "dead"}},
		{URL: "http://10.0.0.1/done", Statuses: []string{"succeeded", "failed", "dead", "canceled"}},
	} {
		d := Definition{Name: "wf", OnFinish: &o, Steps: []Step{logStep("first")}}
		if err := d.Validate(); err != nil {
			t.Errorf("Validate(on_finish %+v) = %v, want valid", o, err)
		}
	}
}

func TestAPlanWithoutCallbacksRefusesThemWhereTheyAreWritten(t *testing.T) {
	t.Parallel()
	noCallbacks := Limits{Plan: "free", NoCallbacks: true}
	d := Definition{Name: "wf", OnFinish: &OnFinish{URL: "https://example.com/done"},
		Steps: []Step{logStep("first"), callbackStep("tell"),
			{Name: "each", Type: "foreach", With: map[string]any{"items": "trigger.body.items"}, Steps: []Step{callbackStep("inner")}}}}
	ps := problemsOf(t, d, noCallbacks)
	for _, want := range []struct{ path, message string }{
		{"on_finish", "on_finish callbacks are not included in the free plan"},
		{"steps[1].type", "callback steps are not included in the free plan"},
		{"steps[2].steps[0].type", "callback steps are not included in the free plan"},
	} {
		if !hasProblem(ps, want.path, want.message) {
			t.Errorf("problems %v, want %q at %s", ps, want.message, want.path)
		}
	}
	d.Steps = d.Steps[:2]
	if err := d.ValidateWithin(Limits{Plan: "pro"}); err != nil {
		t.Errorf("ValidateWithin(a plan with callbacks) = %v, want valid", err)
	}
}

func TestOnFinishWantsItsStatusesOrEveryTerminalOne(t *testing.T) {
	t.Parallel()
	all := &OnFinish{URL: "https://x"}
	some := &OnFinish{URL: "https://x", Statuses: []string{"failed", "dead"}}
	var none *OnFinish
	for _, c := range []struct {
		o      *OnFinish
		status string
		want   bool
	}{
		{all, "succeeded", true}, {all, "canceled", true}, {all, "running", false},
		{some, "dead", true}, {some, "succeeded", false}, {none, "failed", false},
	} {
		if got := c.o.Wants(c.status); got != c.want {
			t.Errorf("%+v.Wants(%q) = %v, want %v", c.o, c.status, got, c.want)
		}
	}
}

func TestUsesCallbackStepsLooksInsideNestedSteps(t *testing.T) {
	t.Parallel()
	flat := Definition{Name: "wf", Steps: []Step{logStep("a")}}
	nested := Definition{Name: "wf", Steps: []Step{{Name: "sw", Type: "switch",
		Cases: []Case{{When: "true", Steps: []Step{logStep("b")}}}, Default: []Step{callbackStep("c")}}}}
	if flat.UsesCallbackSteps() || !nested.UsesCallbackSteps() {
		t.Errorf("UsesCallbackSteps = %v, %v; want false for no callback, true for one in a switch default",
			flat.UsesCallbackSteps(), nested.UsesCallbackSteps())
	}
}
