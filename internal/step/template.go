package step

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A template is a literal string with optional {{ expression }} parts, such
// as "receipt-{{ steps.normalize.output.id }}.json". A part ends at the first
// "}}", so an expression inside a template cannot itself contain "}}".
const (
	openDelim  = "{{"
	closeDelim = "}}"
)

// segment is a piece of a parsed template: literal text or an expression.
type segment struct {
	text   string
	isExpr bool
}

var errUnclosed = errors.New("template has an unclosed {{")

// parseTemplate splits tmpl into literal and expression segments.
func parseTemplate(tmpl string) ([]segment, error) {
	var segs []segment
	for {
		start := strings.Index(tmpl, openDelim)
		if start < 0 {
			break
		}
		end := strings.Index(tmpl[start+len(openDelim):], closeDelim)
		if end < 0 {
			return nil, errUnclosed
		}
		if start > 0 {
			segs = append(segs, segment{text: tmpl[:start]})
		}
		src := strings.TrimSpace(tmpl[start+len(openDelim) : start+len(openDelim)+end])
		if src == "" {
			return nil, errors.New("template has an empty {{ }}")
		}
		segs = append(segs, segment{text: src, isExpr: true})
		tmpl = tmpl[start+len(openDelim)+end+len(closeDelim):]
	}
	if tmpl != "" {
		segs = append(segs, segment{text: tmpl})
	}
	return segs, nil
}

// IsTemplate reports whether s has any {{ }} part; a string without one is a
// plain literal and can be checked when the definition is saved.
func IsTemplate(s string) bool { return strings.Contains(s, openDelim) }

// CompileTemplate checks that tmpl is well formed and that every expression
// in it compiles.
func CompileTemplate(tmpl string) error {
	segs, err := parseTemplate(tmpl)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if !s.isExpr {
			continue
		}
		if err := CompileExpr(s.text); err != nil {
			return err
		}
	}
	return nil
}

// templateRefs returns the steps the expressions in tmpl read.
func templateRefs(tmpl string) ([]string, error) {
	segs, err := parseTemplate(tmpl)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range segs {
		if !s.isExpr {
			continue
		}
		refs, err := StepRefs(s.text)
		if err != nil {
			return nil, err
		}
		names = append(names, refs...)
	}
	return names, nil
}

// Render evaluates every {{ }} part of tmpl against env and substitutes its
// value: strings as they are, numbers and booleans in their usual notation,
// maps and lists as compact JSON, and nil as nothing.
func Render(ctx context.Context, tmpl string, env Env) (string, error) {
	segs, err := parseTemplate(tmpl)
	if err != nil {
		return "", Permanent(err)
	}
	var b strings.Builder
	for _, s := range segs {
		if !s.isExpr {
			b.WriteString(s.text)
			continue
		}
		v, err := Eval(ctx, s.text, env)
		if err != nil {
			return "", err
		}
		str, err := stringify(v)
		if err != nil {
			return "", Permanent(fmt.Errorf("template part %q: %w", s.text, err))
		}
		b.WriteString(str)
	}
	return b.String(), nil
}

// stringify renders one template value.
func stringify(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64:
		// 'f' rather than %v keeps large round numbers such as ids out of
		// exponent notation.
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), nil
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v), nil
	case fmt.Stringer:
		return v.String(), nil
	default:
		return compactJSON(v)
	}
}

// compactJSON encodes v without HTML escaping, which would turn "<" in an
// expression result into \u003c for no benefit here.
func compactJSON(v any) (string, error) {
	b, err := compactJSONBytes(v)
	return string(b), err
}

// compactJSONBytes is compactJSON for a caller that wants the bytes (an
// artifact, a request body): one copy of a large value less.
func compactJSONBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("value is not JSON-encodable: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
