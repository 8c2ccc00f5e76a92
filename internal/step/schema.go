package step

import (
	"fmt"
	"maps"
	"slices"

	"aias/internal/errs"
)

// FieldKind says how a value in a with block is interpreted.
type FieldKind int

const (
	ExprField        FieldKind = iota // a string expression
	TemplateField                     // a string with optional {{ }} parts
	ValueField                        // an expression, or a map or list of them (see EvalValue)
	TemplateMapField                  // a map of names to templates
	ValueMapField                     // a map of names to values as in ValueField
	StringField                       // a plain string
	ListField                         // a list; the step type checks its elements
)

// Field describes one key of a with block.
type Field struct {
	Name     string
	Kind     FieldKind
	Required bool
	// Secrets marks an expression field that may read secrets; see the
	// package documentation.
	Secrets bool
}

// Schema describes a with block: a step type's, or a control node's (whose
// rules package workflow states with it). It performs the checks every
// with block needs — unknown keys, required keys, shapes, compiling
// expressions, secrets placement — so each type only adds the rules
// peculiar to it.
type Schema []Field

// Validate reports every generic problem in with, which lives at path.
func (s Schema) Validate(with map[string]any, path string) []errs.FieldError {
	var problems []errs.FieldError
	for _, k := range slices.Sorted(maps.Keys(with)) {
		if !slices.ContainsFunc(s, func(f Field) bool { return f.Name == k }) {
			problems = append(problems, fieldErr(fieldPath(path, k), "unknown field"))
		}
	}
	for _, f := range s {
		v, ok := with[f.Name]
		p := fieldPath(path, f.Name)
		switch {
		case !ok || v == nil:
			if f.Required {
				problems = append(problems, fieldErr(p, "is required"))
			}
		default:
			problems = append(problems, f.checkShape(v, p)...)
		}
	}
	for _, f := range s {
		if v, ok := with[f.Name]; ok && (f.Kind == StringField || f.Kind == ListField) {
			problems = append(problems, literalSecrets(v, fieldPath(path, f.Name))...)
		}
	}
	return append(problems, checkSources(s.Sources(with, path))...)
}

// checkShape reports a value whose JSON type does not fit the field.
func (f Field) checkShape(v any, path string) []errs.FieldError {
	switch f.Kind {
	case ExprField, TemplateField, StringField:
		if s, ok := v.(string); !ok || s == "" {
			return []errs.FieldError{fieldErr(path, "must be a non-empty string")}
		}
	case TemplateMapField:
		return checkStringMap(v, path)
	case ValueMapField:
		if _, ok := v.(map[string]any); !ok {
			return []errs.FieldError{fieldErr(path, "must be an object")}
		}
	case ListField:
		if _, ok := v.([]any); !ok {
			return []errs.FieldError{fieldErr(path, "must be a list")}
		}
	}
	return nil
}

func checkStringMap(v any, path string) []errs.FieldError {
	m, ok := v.(map[string]any)
	if !ok {
		return []errs.FieldError{fieldErr(path, "must be an object of strings")}
	}
	var problems []errs.FieldError
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, ok := m[k].(string); !ok {
			problems = append(problems, fieldErr(fieldPath(path, k), "must be a string"))
		}
	}
	return problems
}

// Sources lists the expressions and templates in with that have the right
// shape; badly shaped values are reported by Validate instead.
func (s Schema) Sources(with map[string]any, path string) []Source {
	var srcs []Source
	for _, f := range s {
		v, ok := with[f.Name]
		if !ok || v == nil {
			continue
		}
		for _, src := range f.sources(v, fieldPath(path, f.Name)) {
			src.AllowSecrets = f.Secrets
			srcs = append(srcs, src)
		}
	}
	return srcs
}

func (f Field) sources(v any, path string) []Source {
	switch f.Kind {
	case ExprField:
		if s, ok := v.(string); ok && s != "" {
			return []Source{{Path: path, Text: s}}
		}
	case TemplateField:
		if s, ok := v.(string); ok && s != "" {
			return []Source{{Path: path, Text: s, Template: true}}
		}
	case ValueField:
		return valueSources(v, path)
	case ValueMapField:
		if m, ok := v.(map[string]any); ok {
			return valueSources(m, path)
		}
	case TemplateMapField:
		return templateMapSources(v, path)
	}
	return nil
}

func templateMapSources(v any, path string) []Source {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var srcs []Source
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if s, ok := m[k].(string); ok {
			srcs = append(srcs, Source{Path: fieldPath(path, k), Text: s, Template: true})
		}
	}
	return srcs
}

func fieldErr(path, format string, args ...any) errs.FieldError {
	return errs.FieldError{Path: path, Message: fmt.Sprintf(format, args...)}
}

// str returns with[key] as a string, or def when it is absent or not a
// string. Run relies on Validate having rejected the wrong shapes already.
func str(with map[string]any, key, def string) string {
	if s, ok := with[key].(string); ok && s != "" {
		return s
	}
	return def
}
