package workflow

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"aias/internal/errs"
	"aias/internal/step"
)

// Control flow. Four step types do no work of their own: they decide how
// the walk of a run's steps continues. The engine decides them (package
// run, flow.go); this file states what a definition may say of them, the
// rules checked when it is saved. Every other type is a step type of
// package step, which checks its own with block.

// Kind is what a step is to the engine: work, done by a step type of
// package step, or one of the control nodes.
type Kind int

// The kinds of step.
const (
	Work      Kind = iota // a step type of package step: transform, log, artifact, http, callback
	Condition             // ends the run (or fails it) unless an expression holds
	Delay                 // parks the run until a time
	Switch                // walks the steps of the first case whose when holds
	Foreach               // walks its body once per item of a list
)

// ControlKinds maps the type of each control node to its kind. It is the
// one list of them: validation and the engine's walk both read it.
var ControlKinds = map[string]Kind{
	"condition": Condition,
	"delay":     Delay,
	"switch":    Switch,
	"foreach":   Foreach,
}

// Kind says what s is to the engine: a control node, or Work.
func (s Step) Kind() Kind { return ControlKinds[s.Type] }

// What a false condition does (with.on_false).
const (
	OnFalseStop = "stop" // the default: the run succeeds, the steps left are skipped
	OnFalseFail = "fail" // the run fails without retrying
)

// MaxDelay is the longest a delay may wait.
const MaxDelay = 366 * 24 * time.Hour

// control is the definition side of a control node: its with block's
// schema and the rules peculiar to it.
type control struct {
	schema step.Schema
	check  func(with map[string]any, path string) []errs.FieldError // nil: none
}

// controls holds the with rules of every control node.
//
//	condition: { if: expression (a boolean), on_false: stop | fail }
//	delay:     { for: a duration } or { until: expression (RFC 3339 or Unix seconds) }
//	switch:    nothing; its cases and default sit beside type
//	foreach:   { items: expression (a list) }; its body is steps beside type
var controls = map[Kind]control{
	Condition: {
		schema: step.Schema{{Name: "if", Kind: step.ExprField, Required: true}, {Name: "on_false", Kind: step.StringField}},
		check:  checkOnFalse,
	},
	Delay: {
		schema: step.Schema{{Name: "for", Kind: step.StringField}, {Name: "until", Kind: step.ExprField}},
		check:  checkDelay,
	},
	Switch:  {schema: step.Schema{}},
	Foreach: {schema: step.Schema{{Name: "items", Kind: step.ExprField, Required: true}}},
}

// Validate checks a control node's with block, which lives at path. A
// secret where none may be read is the one problem reported at its path.
func (c control) Validate(with map[string]any, path string) []errs.FieldError {
	problems := c.schema.Validate(with, path)
	if c.check != nil {
		problems = append(problems, c.check(with, path)...)
	}
	return step.PreferSecretProblems(problems)
}

// Sources lists a control node's expressions in its with block; none of
// them may read secrets.
func (c control) Sources(with map[string]any, path string) []step.Source {
	return c.schema.Sources(with, path)
}

func checkOnFalse(with map[string]any, path string) []errs.FieldError {
	if v, ok := with["on_false"].(string); ok && v != OnFalseStop && v != OnFalseFail {
		return []errs.FieldError{{Path: path + ".on_false", Message: fmt.Sprintf("must be %q or %q", OnFalseStop, OnFalseFail)}}
	}
	return nil
}

func checkDelay(with map[string]any, path string) []errs.FieldError {
	var problems []errs.FieldError
	_, hasFor := with["for"]
	_, hasUntil := with["until"]
	switch {
	case hasFor && hasUntil:
		problems = append(problems, errs.FieldError{Path: path, Message: "must have either for or until, not both"})
	case !hasFor && !hasUntil:
		problems = append(problems, errs.FieldError{Path: path, Message: "must have for (a duration) or until (a time)"})
	}
	if s, ok := with["for"].(string); ok && s != "" {
		if d, err := time.ParseDuration(s); err != nil || d <= 0 || d > MaxDelay {
			problems = append(problems, errs.FieldError{Path: path + ".for",
				Message: fmt.Sprintf("must be a positive duration such as 90s, 15m or 48h, at most %s", MaxDelay)})
		}
	}
	return problems
}

// withRules checks a step's with block: a control node's rules, or a
// step type's (step.Type).
type withRules interface {
	Validate(with map[string]any, path string) []errs.FieldError
	Sources(with map[string]any, path string) []step.Source
}

// rulesOf returns the rules of s's with block, or false when its type is
// neither a control node nor a step type.
func rulesOf(s Step) (withRules, bool) {
	if c, ok := controls[s.Kind()]; ok {
		return c, true
	}
	t, ok := step.Lookup(s.Type)
	return t, ok
}

// typeNames lists every type a step may have, sorted.
func typeNames() []string {
	return slices.Sorted(slices.Values(append(step.Names(), slices.Collect(maps.Keys(ControlKinds))...)))
}

// foreachAllowed refuses a foreach in a plan without the feature.
func foreachAllowed(s Step, path string, l Limits) []errs.FieldError {
	if s.Kind() != Foreach || !l.NoForeach {
		return nil
	}
	return []errs.FieldError{{Path: path + ".type", Message: fmt.Sprintf("foreach steps are not included in the %s plan", planName(l))}}
}

// checkBranches checks that only switch steps have cases and default, and
// only foreach steps have a body.
func checkBranches(s Step, path string) []errs.FieldError {
	var problems []errs.FieldError
	add := func(field, msg string) {
		problems = append(problems, errs.FieldError{Path: path + "." + field, Message: msg})
	}
	switch s.Kind() {
	case Switch:
		if len(s.Cases) == 0 {
			add("cases", "a switch needs at least one case")
		}
		if len(s.Steps) > 0 {
			add("steps", "a switch has cases and default, not steps")
		}
		for j, c := range s.Cases {
			if len(c.Steps) == 0 {
				add(fmt.Sprintf("cases[%d].steps", j), "must have at least one step")
			}
		}
	case Foreach:
		if len(s.Steps) == 0 {
			add("steps", "a foreach needs at least one step in its body")
		}
		if len(s.Cases) > 0 || len(s.Default) > 0 {
			add("cases", "only a switch has cases and default")
		}
	default:
		if len(s.Cases) > 0 || len(s.Default) > 0 {
			add("cases", "only a switch has cases and default")
		}
		if len(s.Steps) > 0 {
			add("steps", "only a foreach has a body of steps")
		}
	}
	return problems
}

// whenSources returns the expressions of a step's case conditions that
// compile, and the problems of those that are missing or do not. Cases
// belong to a switch; those written on another step are refused by
// checkBranches and their conditions still checked.
func whenSources(s Step, path string) ([]step.Source, []errs.FieldError) {
	var (
		srcs     []step.Source
		problems []errs.FieldError
	)
	for j, c := range s.Cases {
		src := step.Source{Path: fmt.Sprintf("%s.cases[%d].when", path, j), Text: c.When}
		if c.When == "" {
			problems = append(problems, errs.FieldError{Path: src.Path, Message: "is required"})
			continue
		}
		if err := src.Compile(); err != nil {
			problems = append(problems, errs.FieldError{Path: src.Path, Message: err.Error()})
			continue
		}
		srcs = append(srcs, src)
	}
	return srcs, problems
}
