package workflow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
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
	// MaxForeachItems bounds the items of a foreach (0: the package default).
	MaxForeachItems int
}

func (l Limits) maxSteps() int {
	if l.MaxSteps > 0 {
		return l.MaxSteps
	}
	return MaxSteps
}

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
// step types exist, that every expression and template compiles, that
// expressions only read the outputs of steps that run before them, and that
// secrets are read only where package step allows it, by fixed and valid
// names.
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
	problems = append(problems, d.OnFinish.validate("on_finish", l)...)
	problems = append(problems, d.Schedule.validate("schedule")...)
	switch {
	case len(d.Steps) == 0:
		add("steps", "must have at least one step")
	case len(d.Steps) > l.maxSteps():
		add("steps", "must have at most %d steps", l.maxSteps())
	}

	order := stepOrder(d.Steps)
	for i, s := range d.Steps {
		problems = append(problems, validateStep(i, s, order)...)
	}
	if len(problems) == 0 {
		return nil
	}
	return errs.Validation("workflow definition is invalid", problems...)
}

// stepOrder maps each step name to the index of its first occurrence.
func stepOrder(steps []Step) map[string]int {
	order := make(map[string]int, len(steps))
	for i, s := range steps {
		if _, dup := order[s.Name]; !dup && s.Name != "" {
			order[s.Name] = i
		}
	}
	return order
}

func stepPath(i int) string { return fmt.Sprintf("steps[%d]", i) }

func validateStep(i int, s Step, order map[string]int) []errs.FieldError {
	path := stepPath(i)
	var problems []errs.FieldError
	add := func(field, format string, args ...any) {
		problems = append(problems, errs.FieldError{Path: path + "." + field, Message: fmt.Sprintf(format, args...)})
	}

	switch first := order[s.Name]; {
	case s.Name == "":
		add("name", "is required")
	case len(s.Name) > MaxNameLen:
		add("name", "must be at most %d characters", MaxNameLen)
	case !stepName.MatchString(s.Name):
		add("name", "must start with a letter or '_' and contain only letters, digits, '_' and '-'")
	case first != i:
		add("name", "duplicates the name of steps[%d]", first)
	}
	if _, err := json.Marshal(s.With); err != nil {
		add("with", "is not JSON-encodable")
		return problems
	}

	t, ok := step.Lookup(s.Type)
	switch {
	case s.Type == "":
		add("type", "is required")
		return problems
	case !ok:
		add("type", "unknown step type %q (known: %s)", s.Type, strings.Join(step.Names(), ", "))
		return problems
	}
	problems = append(problems, t.Validate(s.With, path+".with")...)
	srcs := t.Sources(s.With, path+".with")
	for _, p := range checkSecrets(srcs) {
		if !slices.Contains(problems, p) {
			problems = append(problems, p)
		}
	}
	return append(problems, checkRefs(i, srcs, order)...)
}

// checkRefs reports every expression that reads the output of a step which
// has not run yet when step i runs, or of a step that does not exist.
func checkRefs(i int, srcs []step.Source, order map[string]int) []errs.FieldError {
	var problems []errs.FieldError
	for _, src := range srcs {
		refs, err := src.StepRefs()
		if err != nil {
			continue // the step type has reported that it does not compile
		}
		for _, name := range refs {
			j, known := order[name]
			switch {
			case !known:
				problems = append(problems, errs.FieldError{Path: src.Path, Message: fmt.Sprintf("references unknown step %q", name)})
			case j >= i:
				problems = append(problems, errs.FieldError{Path: src.Path, Message: fmt.Sprintf("references step %q which does not run before this step", name)})
			}
		}
	}
	return problems
}
