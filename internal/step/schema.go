package step

import (
	"fmt"
	"maps"
	"slices"

	"aias/internal/errs"
)

// fieldKind says how a value in a with block is interpreted.
type fieldKind int

const (
	exprField        fieldKind = iota // a string expression
	templateField                     // a string with optional {{ }} parts
	valueField                        // an expression, or a map or list of them (see EvalValue)
	templateMapField                  // a map of names to templates
	valueMapField                     // a map of names to values as in valueField
	stringField                       // a plain string
	listField                         // a list; the step type checks its elements
)

// field describes one key of a with block.
type field struct {
	name     string
	kind     fieldKind
	required bool
	// secrets marks an expression field that may read secrets; see the
	// package documentation.
	secrets bool
}

// schema describes a step type's with block. It performs the checks every
// type needs — unknown keys, required keys, shapes, compiling expressions —
// so each type only adds the rules peculiar to it.
type schema []field

// validate reports every generic problem in with.
func (s schema) validate(with map[string]any, path string) []errs.FieldError {
	var problems []errs.FieldError
	for _, k := range slices.Sorted(maps.Keys(with)) {
		if !slices.ContainsFunc(s, func(f field) bool { return f.name == k }) {
			problems = append(problems, fieldErr(fieldPath(path, k), "unknown field"))
		}
	}
	for _, f := range s {
		v, ok := with[f.name]
		p := fieldPath(path, f.name)
		switch {
		case !ok || v == nil:
			if f.required {
				problems = append(problems, fieldErr(p, "is required"))
			}
		default:
			problems = append(problems, f.checkShape(v, p)...)
		}
	}
	for _, f := range s {
		if v, ok := with[f.name]; ok && (f.kind == stringField || f.kind == listField) {
			problems = append(problems, literalSecrets(v, fieldPath(path, f.name))...)
		}
	}
	return append(problems, checkSources(s.sources(with, path))...)
}

// checkShape reports a value whose JSON type does not fit the field.
func (f field) checkShape(v any, path string) []errs.FieldError {
	switch f.kind {
	case exprField, templateField, stringField:
		if s, ok := v.(string); !ok || s == "" {
			return []errs.FieldError{fieldErr(path, "must be a non-empty string")}
		}
	case templateMapField:
		return checkStringMap(v, path)
	case valueMapField:
		if _, ok := v.(map[string]any); !ok {
			return []errs.FieldError{fieldErr(path, "must be an object")}
		}
	case listField:
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

// sources lists the expressions and templates in with that have the right
// shape; badly shaped values are reported by validate instead.
func (s schema) sources(with map[string]any, path string) []Source {
	var srcs []Source
	for _, f := range s {
		v, ok := with[f.name]
		if !ok || v == nil {
			continue
		}
		for _, src := range f.sources(v, fieldPath(path, f.name)) {
			src.AllowSecrets = f.secrets
			srcs = append(srcs, src)
		}
	}
	return srcs
}

func (f field) sources(v any, path string) []Source {
	switch f.kind {
	case exprField:
		if s, ok := v.(string); ok && s != "" {
			return []Source{{Path: path, Text: s}}
		}
	case templateField:
		if s, ok := v.(string); ok && s != "" {
			return []Source{{Path: path, Text: s, Template: true}}
		}
	case valueField:
		return valueSources(v, path)
	case valueMapField:
		if m, ok := v.(map[string]any); ok {
			return valueSources(m, path)
		}
	case templateMapField:
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
