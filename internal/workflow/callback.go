package workflow

import (
	"fmt"
	"slices"
	"strings"

	"aias/internal/errs"
	"aias/internal/step"
)

// OnFinishStatuses are the terminal run statuses on_finish may ask for.
var OnFinishStatuses = []string{"succeeded", "failed", "dead", "canceled"}

// validate checks an on_finish block at path: the plan must include
// callbacks; url is an http or https URL template over trigger and run
// (the run's outcome is known, step outputs are not part of it) that reads
// no secrets; statuses are distinct terminal statuses.
func (o *OnFinish) validate(path string, l Limits) []errs.FieldError {
	if o == nil {
		return nil
	}
	if l.NoCallbacks {
		return []errs.FieldError{{Path: path, Message: fmt.Sprintf("on_finish callbacks are not included in the %s plan", planName(l))}}
	}
	var problems []errs.FieldError
	add := func(p, format string, args ...any) {
		problems = append(problems, errs.FieldError{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	if o.URL == "" {
		add(path+".url", "is required")
	} else {
		problems = append(problems, checkOnFinishURL(path+".url", o.URL)...)
	}
	for i, s := range o.Statuses {
		p := fmt.Sprintf("%s.statuses[%d]", path, i)
		switch {
		case !slices.Contains(OnFinishStatuses, s):
			add(p, "must be one of %s", strings.Join(OnFinishStatuses, ", "))
		case slices.Index(o.Statuses, s) != i:
			add(p, "duplicates %q", s)
		}
	}
	return problems
}

func checkOnFinishURL(path, url string) []errs.FieldError {
	src := step.Source{Path: path, Text: url, Template: true}
	if ps := src.CheckSecrets(); len(ps) > 0 {
		return ps
	}
	if err := src.Compile(); err != nil {
		return []errs.FieldError{{Path: path, Message: err.Error()}}
	}
	if refs, _ := src.StepRefs(); len(refs) > 0 {
		return []errs.FieldError{{Path: path, Message: "may read trigger and run (run.status included), not step outputs"}}
	}
	if err := step.CheckURLTemplate(url); err != nil {
		return []errs.FieldError{{Path: path, Message: err.Error()}}
	}
	return nil
}

// Wants reports whether the on_finish block asks to be told about a run
// that ended in status (no statuses: every terminal status).
func (o *OnFinish) Wants(status string) bool {
	if o == nil {
		return false
	}
	if len(o.Statuses) == 0 {
		return slices.Contains(OnFinishStatuses, status)
	}
	return slices.Contains(o.Statuses, status)
}

// UsesCallbackSteps reports whether any step of d, nested ones included, is
// a callback step: only then does a run need the tenant's callback secret.
func (d Definition) UsesCallbackSteps() bool {
	return slices.ContainsFunc(d.Walk(), func(n Node) bool { return n.Step.Type == "callback" })
}

// callbackAllowed refuses a callback step on a plan without callbacks, at
// the step's type.
func callbackAllowed(s Step, path string, l Limits) []errs.FieldError {
	if s.Type != "callback" || !l.NoCallbacks {
		return nil
	}
	return []errs.FieldError{{Path: path + ".type", Message: fmt.Sprintf("callback steps are not included in the %s plan", planName(l))}}
}
