package step

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedactorString(t *testing.T) {
	t.Parallel()
	r := NewRedactor("s3cret-value", "abcdef", "defghi", "abc", "")
	tests := []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		{"a s3cret-value b s3cret-value", "a [REDACTED] b [REDACTED]"},
		// Overlapping values are masked as one, leaving no part visible.
		{"xabcdefghiy", "x[REDACTED]y"},
		{"abcdef defghi", "[REDACTED] [REDACTED]"},
		// Values shorter than MinRedactBytes are ignored.
		{"abc abd", "abc abd"},
		{"s3cret-values3cret-value", "[REDACTED]"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	t.Parallel()
	r := NewRedactor("token", "token-extended-part")
	if got := r.String("x token-extended-part y"); got != "x [REDACTED] y" {
		t.Fatalf("String = %q, want the longer value masked whole", got)
	}
}

func TestRedactorEncodings(t *testing.T) {
	t.Parallel()
	const v = "p@ss/word+?=&x~1"
	r := NewRedactor(v)
	forms := map[string]string{
		"std":          base64.StdEncoding.EncodeToString([]byte(v)),
		"raw std":      base64.RawStdEncoding.EncodeToString([]byte(v)),
		"url":          base64.URLEncoding.EncodeToString([]byte(v)),
		"raw url":      base64.RawURLEncoding.EncodeToString([]byte(v)),
		"query escape": url.QueryEscape(v),
		"path escape":  url.PathEscape(v),
	}
	for name, form := range forms {
		if got := r.String("<" + form + ">"); got != "<[REDACTED]>" {
			t.Errorf("%s form %q: String = %q", name, form, got)
		}
	}
	// Inside a longer base64 value at each alignment, as in Basic auth.
	for _, prefix := range []string{"u:", "us:", "use:", "user:"} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
			full := enc.EncodeToString([]byte(prefix + v + "!tail"))
			got := r.String("Basic " + full)
			if !strings.Contains(got, Redacted) {
				t.Errorf("prefix %q: %q not masked", prefix, full)
			}
			plain := base64.StdEncoding.EncodeToString([]byte(v))
			if strings.Contains(got, plain[:len(plain)-4]) {
				t.Errorf("prefix %q: %q leaks the encoding", prefix, got)
			}
		}
	}
}

func TestRedactorValue(t *testing.T) {
	t.Parallel()
	r := NewRedactor("topsecret", "424242")
	in := map[string]any{
		"topsecret": "value topsecret",
		"list":      []any{"topsecret", 1.5, true, nil, map[string]any{"k": "topsecret"}},
		"headers":   map[string]string{"x-topsecret": "topsecret"},
		"strings":   []string{"a", "topsecret"},
		"pin":       424242.0,
		"n":         7.0,
		"ok":        false,
		"nil":       nil,
	}
	want := map[string]any{
		"[REDACTED]": "value [REDACTED]",
		"list":       []any{"[REDACTED]", 1.5, true, nil, map[string]any{"k": "[REDACTED]"}},
		"headers":    map[string]string{"x-[REDACTED]": "[REDACTED]"},
		"strings":    []string{"a", "[REDACTED]"},
		"pin":        "[REDACTED]",
		"n":          7.0,
		"ok":         false,
		"nil":        nil,
	}
	if diff := cmp.Diff(want, r.Value(in)); diff != "" {
		t.Fatalf("Value mismatch (-want +got):\n%s", diff)
	}
	if in["topsecret"] != "value topsecret" {
		t.Fatal("Value modified its input")
	}
	if got := r.Bytes([]byte("a topsecret b")); string(got) != "a [REDACTED] b" {
		t.Fatalf("Bytes = %q", got)
	}
	clean := []byte("clean")
	if got := r.Bytes(clean); &got[0] != &clean[0] {
		t.Fatal("Bytes copied a clean slice")
	}
}

func TestRedactorNil(t *testing.T) {
	t.Parallel()
	var r *Redactor
	in := map[string]any{"a": "topsecret"}
	if r.String("topsecret") != "topsecret" || string(r.Bytes([]byte("topsecret"))) != "topsecret" {
		t.Fatal("nil Redactor changed a string")
	}
	if diff := cmp.Diff(in, r.Value(in)); diff != "" {
		t.Fatalf("nil Redactor changed a value:\n%s", diff)
	}
	err := errors.New("topsecret")
	if !errors.Is(r.Error(err), err) || r.Error(nil) != nil {
		t.Fatal("nil Redactor changed an error")
	}
	res := Result{Output: "topsecret"}
	if r.Result(res).Output != "topsecret" {
		t.Fatal("nil Redactor changed a result")
	}
	// A Redactor with only short values is a no-op too.
	if got := NewRedactor("ab", "").String("ab"); got != "ab" {
		t.Fatalf("String = %q", got)
	}
}

func TestRedactorError(t *testing.T) {
	t.Parallel()
	r := NewRedactor("topsecret")
	if r.Error(nil) != nil {
		t.Fatal("Error(nil) != nil")
	}
	clean := Permanent(errors.New("no secret"))
	if got := r.Error(clean); got.Error() != "no secret" || !IsPermanent(got) {
		t.Fatalf("an error without secrets changed: %v", got)
	}

	perm := Permanent(fmt.Errorf("bad value %q: %w", "topsecret", context.DeadlineExceeded))
	got := r.Error(perm)
	if got.Error() != `bad value "[REDACTED]": context deadline exceeded` {
		t.Fatalf("message = %q", got.Error())
	}
	mustPermanent(t, got)
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Fatal("errors.Is lost the cause")
	}
	for e := got; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "topsecret") {
			t.Fatalf("the secret is reachable by unwrapping: %v", e)
		}
	}

	retry := r.Error(fmt.Errorf("dial topsecret.example: %w", errors.New("refused")))
	mustRetryable(t, retry)
	if strings.Contains(retry.Error(), "topsecret") {
		t.Fatalf("message = %q", retry.Error())
	}
}

func TestRedactorResult(t *testing.T) {
	t.Parallel()
	r := NewRedactor("topsecret")
	res := Result{
		Output:    map[string]any{"a": "topsecret"},
		Logs:      []LogLine{{Message: "m topsecret", Fields: map[string]any{"f": "topsecret"}}, {Message: "plain"}},
		Artifacts: []Artifact{{Name: "topsecret.txt", Content: []byte("x topsecret")}},
	}
	got := r.Result(res)
	want := Result{
		Output:    map[string]any{"a": Redacted},
		Logs:      []LogLine{{Message: "m " + Redacted, Fields: map[string]any{"f": Redacted}}, {Message: "plain"}},
		Artifacts: []Artifact{{Name: Redacted + ".txt", Content: []byte("x " + Redacted)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Result mismatch (-want +got):\n%s", diff)
	}
	if res.Logs[0].Message != "m topsecret" {
		t.Fatal("Result modified its input")
	}
}
