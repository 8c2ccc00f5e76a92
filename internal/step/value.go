package step

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"

	"aias/internal/errs"
)

// Source is one expression or template found in a step's with block.
type Source struct {
	Path     string // JSON path of the value, e.g. "steps[0].with.output.total"
	Text     string
	Template bool // Text is a template with {{ }} parts, not an expression
	// AllowSecrets is set where the source may read secrets: an http step's
	// url, headers and body. Everywhere else reading them is a validation
	// error, and evaluation happens without them (see Env.WithoutSecrets).
	AllowSecrets bool
}

// Compile checks that the source compiles.
func (s Source) Compile() error {
	if s.Template {
		return CompileTemplate(s.Text)
	}
	return CompileExpr(s.Text)
}

// StepRefs returns the names of the steps the source reads.
func (s Source) StepRefs() ([]string, error) {
	if s.Template {
		return templateRefs(s.Text)
	}
	return StepRefs(s.Text)
}

// compileSources reports every source that does not compile, at its path.
func compileSources(srcs []Source) []errs.FieldError {
	var problems []errs.FieldError
	for _, s := range srcs {
		if err := s.Compile(); err != nil {
			problems = append(problems, errs.FieldError{Path: s.Path, Message: err.Error()})
		}
	}
	return problems
}

// EvalValue evaluates a nested value whose strings are expressions: a string
// is evaluated, maps and lists are evaluated element by element, and any
// other value (number, boolean, nil) is returned as it is.
func EvalValue(ctx context.Context, v any, env Env) (any, error) {
	switch v := v.(type) {
	case string:
		return Eval(ctx, v, env)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, elem := range v {
			ev, err := EvalValue(ctx, elem, env)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, elem := range v {
			ev, err := EvalValue(ctx, elem, env)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	default:
		return v, nil
	}
}

// CompileValue checks every expression in a nested value (see EvalValue)
// and reports each one that does not compile at its path below path.
func CompileValue(v any, path string) []errs.FieldError {
	return compileSources(valueSources(v, path))
}

// valueSources lists the expressions in a nested value, in a stable order.
func valueSources(v any, path string) []Source {
	switch v := v.(type) {
	case string:
		return []Source{{Path: path, Text: v}}
	case map[string]any:
		var srcs []Source
		for _, k := range slices.Sorted(maps.Keys(v)) {
			srcs = append(srcs, valueSources(v[k], fieldPath(path, k))...)
		}
		return srcs
	case []any:
		var srcs []Source
		for i, elem := range v {
			srcs = append(srcs, valueSources(elem, indexPath(path, i))...)
		}
		return srcs
	default:
		return nil
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// fieldPath appends a map key to a JSON path, quoting keys that would
// otherwise make the path ambiguous.
func fieldPath(path, key string) string {
	if plainKey.MatchString(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
