package workflow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"aias/internal/errs"
	"aias/internal/step"
)

// Limits are the plan-dependent bounds on a definition. A zero field means
// the package default.
type Limits struct {
	MaxSteps int
	// Plan names the plan the limits come from, for messages.
	Plan string
	// NoForeach and NoCallbacks refuse the plan features a plan lacks.
	NoForeach   bool
	NoCallbacks bool
}

func (l Limits) maxSteps() int {
	if l.MaxSteps > 0 {
		return l.MaxSteps
	}
	return MaxSteps
}

// Bounds of durations in definitions.
const (
	MaxStepTimeout = 10 * time.Minute     // one attempt of one step
	MaxRunTimeout  = 400 * 24 * time.Hour // a run, delays included
	MaxBackoff     = 24 * time.Hour
)

var (
	workflowName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// Step names must be usable as identifiers in steps.<name>.
	stepName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// Validate checks d within the default Limits. See ValidateWithin.
func (d Definition) Validate() error { return d.ValidateWithin(Limits{}) }

// ValidateWithin checks d and returns nil or a validation error (code
// "validation_failed") that lists every problem with its JSON path, such as
// "steps[2].with.url". Besides the shape of the definition it checks that
// step types exist and are in the plan, that every expression and template
// compiles, that expressions only read the outputs of steps that run before
// them (and not from another switch branch or from inside a foreach body),
// that secrets are read only where package step allows it, by fixed and
// valid names, and the retry policies, timeouts and nesting.
func (d Definition) ValidateWithin(l Limits) error {
	var problems []errs.FieldError
	add := func(path, format string, args ...any) {
		problems = append(problems, errs.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	switch {
	case d.Name == "":
		add("name", "is required")
	case len(d.Name) > MaxNameLen:
		add("name", "must be at most %d characters", MaxNameLen)
	case !workflowName.MatchString(d.Name):
		add("name", "may contain only letters, digits, '.', '_' and '-'")
	}
	if utf8.RuneCountInString(d.Description) > MaxDescriptionLen {
		add("description", "must be at most %d characters", MaxDescriptionLen)
	}
	if d.MaxAttempts != 0 && (d.MaxAttempts < 1 || d.MaxAttempts > MaxMaxAttempts) {
		add("max_attempts", "must be between 1 and %d", MaxMaxAttempts)
	}
	problems = append(problems, d.Retry.validate("retry")...)
	problems = append(problems, checkDuration(d.Timeout, "timeout", MaxRunTimeout)...)
	problems = append(problems, checkConcurrencyKey(d.ConcurrencyKey)...)
	problems = append(problems, d.OnFinish.validate("on_finish", l)...)
	problems = append(problems, d.Schedule.validate("schedule")...)

	nodes := d.Walk()
	switch {
	case len(d.Steps) == 0:
		add("steps", "must have at least one step")
	case len(nodes) > l.maxSteps():
		add("steps", "must have at most %d steps, counting those inside switch and foreach steps; this has %d", l.maxSteps(), len(nodes))
	}
	byName := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		if _, dup := byName[n.Step.Name]; !dup && n.Step.Name != "" {
			byName[n.Step.Name] = n
		}
	}
	for _, n := range nodes {
		problems = append(problems, validateStep(n, byName, l)...)
	}
	if len(problems) == 0 {
		return nil
	}
	return errs.Validation("workflow definition is invalid", problems...)
}

func validateStep(n Node, byName map[string]Node, l Limits) []errs.FieldError {
	s, path := n.Step, n.Path
	var problems []errs.FieldError
	add := func(field, format string, args ...any) {
		problems = append(problems, errs.FieldError{Path: path + "." + field, Message: fmt.Sprintf(format, args...)})
	}

	switch first := byName[s.Name]; {
	case s.Name == "":
		add("name", "is required")
	case len(s.Name) > MaxNameLen:
		add("name", "must be at most %d characters", MaxNameLen)
	case !stepName.MatchString(s.Name):
		add("name", "must start with a letter or '_' and contain only letters, digits, '_' and '-'")
	case first.Path != path:
		add("name", "duplicates the name of %s", first.Path)
	}
	if n.Depth > MaxDepth {
		problems = append(problems, errs.FieldError{Path: path, Message: fmt.Sprintf("is nested %d deep in switch and foreach steps; at most %d is allowed", n.Depth, MaxDepth)})
	}
	problems = append(problems, s.Retry.validate(path+".retry")...)
	problems = append(problems, checkDuration(s.Timeout, path+".timeout", MaxStepTimeout)...)
	if _, err := json.Marshal(s.With); err != nil {
		add("with", "is not JSON-encodable")
		return problems
	}

	rules, ok := rulesOf(s)
	switch {
	case s.Type == "":
		add("type", "is required")
		return problems
	case !ok:
		add("type", "unknown step type %q (known: %s)", s.Type, strings.Join(typeNames(), ", "))
		return problems
	}
	problems = append(problems, foreachAllowed(s, path, l)...)
	problems = append(problems, callbackAllowed(s, path, l)...)
	problems = append(problems, checkBranches(s, path)...)
	problems = append(problems, rules.Validate(s.With, path+".with")...)
	whens, whenProblems := whenSources(s, path)
	problems = append(problems, whenProblems...)
	srcs := append(rules.Sources(s.With, path+".with"), whens...)
	for _, p := range checkSecrets(srcs) {
		if !slices.Contains(problems, p) {
			problems = append(problems, p)
		}
	}
	return append(problems, checkRefs(n, srcs, byName)...)
}

// checkRefs reports every expression of step n that reads the output of a
// step which cannot have run when n runs, or of a step that does not exist.
func checkRefs(n Node, srcs []step.Source, byName map[string]Node) []errs.FieldError {
	var problems []errs.FieldError
	for _, src := range srcs {
		refs, err := src.StepRefs()
		if err != nil {
			continue // the step type has reported that it does not compile
		}
		for _, name := range refs {
			target, known := byName[name]
			if !known {
				problems = append(problems, errs.FieldError{Path: src.Path, Message: fmt.Sprintf("references unknown step %q", name)})
				continue
			}
			if ok, why := visibleFrom(target, n); !ok {
				problems = append(problems, errs.FieldError{Path: src.Path, Message: fmt.Sprintf("references step %q which %s", name, why)})
			}
		}
	}
	return problems
}

// validate checks a retry policy at path.
func (r *Retry) validate(path string) []errs.FieldError {
	if r == nil {
		return nil
	}
	var problems []errs.FieldError
	if r.MaxAttempts != 0 && (r.MaxAttempts < 1 || r.MaxAttempts > MaxMaxAttempts) {
		problems = append(problems, errs.FieldError{Path: path + ".max_attempts", Message: fmt.Sprintf("must be between 1 and %d", MaxMaxAttempts)})
	}
	problems = append(problems, checkDuration(r.Backoff, path+".backoff", MaxBackoff)...)
	problems = append(problems, checkDuration(r.MaxBackoff, path+".max_backoff", MaxBackoff)...)
	base, err1 := time.ParseDuration(r.Backoff)
	ceiling, err2 := time.ParseDuration(r.MaxBackoff)
	if err1 == nil && err2 == nil && base > ceiling {
		problems = append(problems, errs.FieldError{Path: path + ".max_backoff", Message: "must not be shorter than backoff"})
	}
	return problems
}

// checkDuration checks an optional Go duration between a second and limit.
func checkDuration(s, path string, limit time.Duration) []errs.FieldError {
	if s == "" {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > limit {
		return []errs.FieldError{{Path: path, Message: fmt.Sprintf("must be a duration such as 30s, 5m or 2h, between 1s and %s", limit)}}
	}
	return nil
}

// checkConcurrencyKey checks the ordering key: an expression over the
// trigger only, since the worker computes it before the run's first step.
func checkConcurrencyKey(src string) []errs.FieldError {
	const path = "concurrency_key"
	if src == "" {
		return nil
	}
	s := step.Source{Path: path, Text: src}
	if err := s.Compile(); err != nil {
		return []errs.FieldError{{Path: path, Message: err.Error()}}
	}
	if refs, _ := s.StepRefs(); len(refs) > 0 {
		return []errs.FieldError{{Path: path, Message: "may only read trigger: it is computed before the run's first step"}}
	}
	if names, err := s.SecretRefs(); err != nil || len(names) > 0 || strings.Contains(src, step.SecretsKey) {
		return []errs.FieldError{{Path: path, Message: "may only read trigger: secrets are not available here"}}
	}
	return nil
}

func planName(l Limits) string {
	if l.Plan == "" {
		return "current"
	}
	return l.Plan
}
