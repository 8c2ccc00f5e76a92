package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/logging"
)

func TestHeadersCarryTheRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]string
	}{
		{"no id", context.Background(), map[string]string{}},
		{"empty id", logging.WithRequestID(context.Background(), ""), map[string]string{}},
		{"id", logging.WithRequestID(context.Background(), "req-123"), map[string]string{"request_id": "req-123"}},
		{"latest id wins", logging.WithRequestID(logging.WithRequestID(context.Background(), "a"), "b"), map[string]string{"request_id": "b"}},
	}
	for _, tt := range tests {
		got := logging.Headers(tt.ctx)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Headers(ctx %s) mismatch (-want +got):\n%s", tt.name, diff)
		}
		if got == nil {
			t.Errorf("Headers(ctx %s) = nil, want a non-nil map", tt.name)
		}
	}
	if logging.HeaderRequestID != "request_id" {
		t.Errorf("HeaderRequestID = %q, want %q", logging.HeaderRequestID, "request_id")
	}
}

func TestRequestIDRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := logging.WithRequestID(context.Background(), "abc")
	if got := logging.RequestID(ctx); got != "abc" {
		t.Errorf("RequestID(WithRequestID(ctx, %q)) = %q, want %q", "abc", got, "abc")
	}
	if got := logging.RequestID(context.Background()); got != "" {
		t.Errorf("RequestID(empty ctx) = %q, want \"\"", got)
	}
}

// lines decodes every JSON line written to buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestNewWritesJSONLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := logging.New(&buf, logging.Options{Level: "info", Service: "worker"})
	l.Info().Msg("hello")
	l.Warn().Msg("careful")
	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("New(...) wrote %d lines, want 2:\n%s", len(got), buf.String())
	}
	for i, want := range []map[string]string{
		{"level": "info", "message": "hello", "service": "worker"},
		{"level": "warn", "message": "careful", "service": "worker"},
	} {
		for k, v := range want {
			if got[i][k] != v {
				t.Errorf("line %d [%q] = %v, want %q (line %v)", i, k, got[i][k], v, got[i])
			}
		}
		if _, ok := got[i]["time"]; !ok {
			t.Errorf("line %d has no time field: %v", i, got[i])
		}
	}
}

func TestNewFiltersByLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level      string
		wantLevels []string
	}{
		{"debug", []string{"debug", "info", "warn", "error"}},
		{"info", []string{"info", "warn", "error"}},
		{"warn", []string{"warn", "error"}},
		{"error", []string{"error"}},
		{"", []string{"info", "warn", "error"}},       // default
		{"chatty", []string{"info", "warn", "error"}}, // unknown falls back to info
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l := logging.New(&buf, logging.Options{Level: tt.level})
		l.Debug().Msg("d")
		l.Info().Msg("i")
		l.Warn().Msg("w")
		l.Error().Msg("e")
		var got []string
		for _, m := range lines(t, &buf) {
			got = append(got, m["level"].(string))
		}
		if diff := cmp.Diff(tt.wantLevels, got); diff != "" {
			t.Errorf("New(Level %q) levels written mismatch (-want +got):\n%s", tt.level, diff)
		}
	}
}

func TestNewPrettyIsNotJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := logging.New(&buf, logging.Options{Pretty: true})
	l.Info().Msg("hello pretty")
	out := buf.String()
	if !strings.Contains(out, "hello pretty") {
		t.Errorf("New(Pretty) output = %q, want it to contain the message", out)
	}
	if json.Valid(bytes.TrimSpace(buf.Bytes())) {
		t.Errorf("New(Pretty) output = %q is JSON, want console format", out)
	}
}

func TestAddStrAddsAFieldToTheContextLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ctx := logging.With(context.Background(), logging.New(&buf, logging.Options{}))
	ctx = logging.AddStr(ctx, "run_id", "r-1")
	ctx = logging.AddStr(ctx, "step", "fetch")
	logging.From(ctx).Info().Msg("step done")
	got := lines(t, &buf)
	if len(got) != 1 {
		t.Fatalf("wrote %d lines, want 1:\n%s", len(got), buf.String())
	}
	for k, v := range map[string]string{"run_id": "r-1", "step": "fetch", "message": "step done"} {
		if got[0][k] != v {
			t.Errorf("line[%q] = %v, want %q (line %v)", k, got[0][k], v, got[0])
		}
	}
}

func TestAddStrDoesNotChangeTheParentContext(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	parent := logging.With(context.Background(), logging.New(&buf, logging.Options{}))
	_ = logging.AddStr(parent, "run_id", "r-1")
	logging.From(parent).Info().Msg("parent")
	got := lines(t, &buf)
	if len(got) != 1 {
		t.Fatalf("wrote %d lines, want 1:\n%s", len(got), buf.String())
	}
	if v, ok := got[0]["run_id"]; ok {
		t.Errorf("parent logger line has run_id = %v, want no run_id", v)
	}
}

func TestFromWithoutLoggerIsSafe(t *testing.T) {
	t.Parallel()
	// Must not panic, with or without AddStr.
	ctx := logging.AddStr(context.Background(), "k", "v")
	logging.From(ctx).Info().Msg("nowhere")
	logging.From(context.Background()).Error().Msg("nowhere")
}
