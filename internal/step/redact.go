package step

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Redacted replaces every secret a Redactor finds.
const Redacted = "[REDACTED]"

// MinRedactBytes is the shortest value a Redactor masks. Shorter values,
// such as "1" or "yes", occur in ordinary text so often that masking them
// would mangle outputs and logs without protecting anything; a credential
// that short is no secret.
const MinRedactBytes = 4

// minShiftedBase64 is the shortest fragment of a secret's base64 form that
// is masked when the secret sits inside a longer encoded value, as in
// "Basic base64(user:secret)". Shorter fragments would match too much
// unrelated base64 text.
const minShiftedBase64 = 8

// Redactor masks known secret values in text and in JSON-shaped data. Each
// value is also recognised in its common encodings: standard and URL-safe
// base64, padded or not (including when the value is part of a longer
// encoded string, e.g. Basic authentication), and URL query and path
// escaping.
//
// A nil *Redactor masks nothing and returns its inputs unchanged. A Redactor
// is immutable and safe for concurrent use.
type Redactor struct {
	patterns []string // longest first, unique
}

// NewRedactor returns a Redactor for values. Values shorter than
// MinRedactBytes are ignored (see MinRedactBytes).
func NewRedactor(values ...string) *Redactor {
	seen := map[string]bool{}
	var patterns []string
	add := func(p string) {
		if len(p) >= MinRedactBytes && !seen[p] {
			seen[p] = true
			patterns = append(patterns, p)
		}
	}
	for _, v := range values {
		if len(v) < MinRedactBytes {
			continue
		}
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		// Quoted forms: an error message (%q) or JSON text can carry the
		// value with its quotes, backslashes and control characters escaped.
		add(strings.Trim(strconv.Quote(v), `"`))
		if j, err := json.Marshal(v); err == nil {
			add(strings.Trim(string(j), `"`))
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			raw := enc.WithPadding(base64.NoPadding)
			add(enc.EncodeToString([]byte(v)))
			add(raw.EncodeToString([]byte(v)))
			for _, frag := range base64Fragments(raw, v) {
				add(frag)
			}
		}
	}
	slices.SortFunc(patterns, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	return &Redactor{patterns: patterns}
}

// base64Fragments returns, for each of the three byte offsets v may start at
// inside a longer encoded string, the characters of the encoding that depend
// on v alone. With no offset and a length divisible by three this is the
// whole unpadded encoding.
func base64Fragments(enc *base64.Encoding, v string) []string {
	var frags []string
	for k := range 3 {
		buf := make([]byte, k, k+len(v))
		buf = append(buf, v...)
		s := enc.EncodeToString(buf)
		// Character i of the encoding holds bits 6i to 6i+5 of buf.
		start, end := (8*k+5)/6, 8*(k+len(v))/6
		if end-start >= minShiftedBase64 {
			frags = append(frags, s[start:end])
		}
	}
	return frags
}

// String returns s with every occurrence of a secret replaced by Redacted.
// Occurrences that overlap or touch are replaced as one, so no part of any
// secret is left visible.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.patterns) == 0 || s == "" {
		return s
	}
	spans := r.spans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(Redacted)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// spans returns the merged byte ranges of s covered by any pattern, in
// order.
func (r *Redactor) spans(s string) [][2]int {
	var spans [][2]int
	for _, p := range r.patterns {
		for i := 0; i <= len(s)-len(p); {
			j := strings.Index(s[i:], p)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(p)})
			i += j + 1 // overlapping occurrences of p are found too
		}
	}
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(b[1], a[1])) })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		cur := &merged[len(merged)-1]
		if sp[0] <= cur[1] {
			cur[1] = max(cur[1], sp[1])
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// Bytes is String for byte slices. b is returned as it is when it holds no
// secret.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(r.patterns) == 0 || len(b) == 0 {
		return b
	}
	s := string(b)
	if red := r.String(s); red != s {
		return []byte(red)
	}
	return b
}

// Value returns a copy of the JSON-shaped value v with secrets masked in
// every string, map key included. Maps (map[string]any, map[string]string),
// lists ([]any, []string), strings and byte slices are walked; a number
// whose decimal form contains a secret becomes the string Redacted; other
// values (bools, nil, and types outside JSON's shapes) are returned as they
// are. When two keys of a map become equal once masked, the value of the
// key that sorts last wins.
func (r *Redactor) Value(v any) any {
	if r == nil || len(r.patterns) == 0 {
		return v
	}
	return r.value(v)
}

func (r *Redactor) value(v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case []byte:
		return r.Bytes(v)
	case json.Number:
		return r.number(v, string(v))
	case float64:
		return r.number(v, strconv.FormatFloat(v, 'f', -1, 64))
	case float32:
		return r.number(v, strconv.FormatFloat(float64(v), 'f', -1, 32))
	case int:
		return r.number(v, strconv.Itoa(v))
	case int64:
		return r.number(v, strconv.FormatInt(v, 10))
	case map[string]any:
		if v == nil {
			return v
		}
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out[r.String(k)] = r.value(v[k])
		}
		return out
	case map[string]string:
		if v == nil {
			return v
		}
		out := make(map[string]string, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out[r.String(k)] = r.String(v[k])
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.value(e)
		}
		return out
	case []string:
		if v == nil {
			return v
		}
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = r.String(e)
		}
		return out
	default:
		return v
	}
}

// number keeps n unless its decimal form text contains a secret, such as
// a numeric PIN echoed back in a JSON body.
func (r *Redactor) number(n any, text string) any {
	if r.String(text) != text {
		return Redacted
	}
	return n
}

// Error returns err with secrets masked in its message. An error that holds
// no secret is returned as it is. Otherwise the result keeps err's
// classification: it is permanent when err is (see IsPermanent), and
// errors.Is matches what err matches, e.g. context.DeadlineExceeded. The
// original error is deliberately not reachable through errors.Unwrap or
// errors.As, since its message holds the secret. A nil err stays nil.
func (r *Redactor) Error(err error) error {
	if r == nil || err == nil {
		return err
	}
	msg := err.Error()
	red := r.String(msg)
	if red == msg {
		return err
	}
	var out error = &redactedError{msg: red, orig: err}
	if IsPermanent(err) {
		out = Permanent(out)
	}
	return out
}

// redactedError carries a masked message in place of the original error.
type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }

// Is delegates to the original error so that sentinel checks keep working
// without exposing the original's message.
func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

// Result returns res with secrets masked in its output, its log lines
// (messages and fields) and its artifacts (names and contents).
func (r *Redactor) Result(res Result) Result {
	if r == nil || len(r.patterns) == 0 {
		return res
	}
	res.Output = r.value(res.Output)
	res.Logs = r.Logs(res.Logs)
	if res.Artifacts != nil {
		arts := make([]Artifact, len(res.Artifacts))
		for i, a := range res.Artifacts {
			a.Name = r.String(a.Name)
			a.Content = r.Bytes(a.Content)
			arts[i] = a
		}
		res.Artifacts = arts
	}
	return res
}

// Logs returns a copy of lines with secrets masked in messages and fields.
func (r *Redactor) Logs(lines []LogLine) []LogLine {
	if r == nil || len(r.patterns) == 0 || lines == nil {
		return lines
	}
	out := make([]LogLine, len(lines))
	for i, l := range lines {
		l.Message = r.String(l.Message)
		if l.Fields != nil {
			l.Fields, _ = r.value(l.Fields).(map[string]any)
		}
		out[i] = l
	}
	return out
}
