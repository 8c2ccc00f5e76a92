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
// maps and lists as compact JSON, and nil as nothing. The rendered text
// counts against ctx's budget (see WithBudget), so a template cannot repeat
// a large value until the worker runs out of memory.
func Render(ctx context.Context, tmpl string, env Env) (string, error) {
	segs, err := parseTemplate(tmpl)
	if err != nil {
		return "", Permanent(err)
	}
	ctx, b := budgetFrom(ctx)
	var out strings.Builder
	for _, s := range segs {
		str := s.text
		if s.isExpr {
			v, err := Eval(ctx, s.text, env)
			if err != nil {
				return "", err
			}
			if str, err = stringify(ctx, v); err != nil {
				if errors.As(err, new(*budgetError)) {
					return "", err
				}
				return "", Permanent(fmt.Errorf("template part %q: %w", s.text, err))
			}
		}
		if err := b.charge(1+int64(len(str))/64, int64(len(str))); err != nil {
			return "", err
		}
		out.WriteString(str)
	}
	return out.String(), nil
}

// stringify renders one template value.
func stringify(ctx context.Context, v any) (string, error) {
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
		b, err := encodeJSON(ctx, v)
		return string(b), err
	}
}

// encodeJSON encodes v as compact JSON without HTML escaping (which would
// turn "<" in an expression result into \u003c for no benefit here). The
// encoding counts against ctx's budget, and is measured before it is made:
// a list holding one large string a million times is refused after a walk
// of at most the budget's room, not after gigabytes of encoding.
func encodeJSON(ctx context.Context, v any) ([]byte, error) {
	ctx, b := budgetFrom(ctx)
	b.begin(ctx)
	defer b.end()
	n, err := encodedSize(v, b.room(), false)
	if err != nil && !errors.Is(err, errTooLarge) {
		return nil, Permanent(fmt.Errorf("value is not JSON-encodable: %w", err))
	}
	if err := b.charge(1+n/64, n); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, Permanent(fmt.Errorf("value is not JSON-encodable: %w", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
