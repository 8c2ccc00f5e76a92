package step

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustLookup(t *testing.T, name string) Type {
	t.Helper()
	typ, ok := Lookup(name)
	if !ok {
		t.Fatalf("no step type %q", name)
	}
	return typ
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  string
		with map[string]any
		want []string
	}{
		{"transform", map[string]any{"output": map[string]any{"id": "run.id"}}, []string{}},
		{"transform", map[string]any{}, []string{"w.output"}},
		{"transform", map[string]any{"output": map[string]any{"total": "1 +", "ok": 5.0}, "extra": 1.0},
			[]string{"w.extra", "w.output.total"}},
		{"log", map[string]any{"message": "hi {{ run.id }}", "level": "warn", "fields": map[string]any{"a": "run.id"}}, []string{}},
		{"log", map[string]any{"level": "loud", "fields": map[string]any{"a": "(("}}, []string{"w.message", "w.level", "w.fields.a"}},
		{"log", map[string]any{"message": "{{ run.id", "fields": "run.id"}, []string{"w.fields", "w.message"}},
		{"artifact", map[string]any{"name": "r-{{ run.id }}.json", "content": "steps.normalize.output"}, []string{}},
		{"artifact", map[string]any{"name": "../etc", "content_type": "no type", "content": "1 +"},
			[]string{"w.content", "w.name", "w.content_type"}},
		{"artifact", map[string]any{}, []string{"w.name", "w.content"}},
		{"http", map[string]any{"url": "https://example.com/{{ run.id }}", "method": "post", "headers": map[string]any{"X-A": "b"},
			"body": "steps.normalize.output", "timeout": "30s", "expect": []any{200.0, 201.0}}, []string{}},
		{"http", map[string]any{"url": "ftp://example.com", "method": "TRACE", "timeout": "2m", "expect": []any{99.0, "x"},
			"headers": map[string]any{"Bad Name": "v", "X-Ok": 1.0}},
			[]string{"w.headers.X-Ok", "w.method", "w.url", `w.headers["Bad Name"]`, "w.timeout", "w.expect[0]", "w.expect[1]"}},
		{"http", map[string]any{"url": "{{ 1 + }}", "headers": map[string]any{"A": "{{ (( }}"}, "body": "))"},
			[]string{"w.url", "w.headers.A", "w.body"}},
		{"http", map[string]any{"url": "/relative"}, []string{"w.url"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+strings.Join(tt.want, ","), func(t *testing.T) {
			t.Parallel()
			got := paths(mustLookup(t, tt.typ).Validate(tt.with, "w"))
			// The order of problems is not part of the contract.
			if diff := cmp.Diff(tt.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Fatalf("Validate paths mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourcesListsExpressionsAndTemplates(t *testing.T) {
	t.Parallel()
	with := map[string]any{
		"url":     "https://x/{{ steps.a.output }}",
		"headers": map[string]any{"X-B": "{{ steps.b.output }}"},
		"body":    map[string]any{"c": "steps.c.output"},
		"method":  "POST",
	}
	want := []Source{
		{Path: "w.url", Text: "https://x/{{ steps.a.output }}", Template: true, AllowSecrets: true},
		{Path: "w.headers.X-B", Text: "{{ steps.b.output }}", Template: true, AllowSecrets: true},
		{Path: "w.body.c", Text: "steps.c.output", AllowSecrets: true},
	}
	if diff := cmp.Diff(want, mustLookup(t, "http").Sources(with, "w")); diff != "" {
		t.Fatalf("Sources mismatch (-want +got):\n%s", diff)
	}
}

func TestTransformOutputsEvaluatedValue(t *testing.T) {
	t.Parallel()
	with := map[string]any{"output": map[string]any{"id": "trigger.body.order.id", "total": "trigger.body.order.total * 1.2"}}
	res, err := mustLookup(t, "transform").Run(context.Background(), Deps{}, with, testEnv())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]any{"id": "o-1", "total": 180.0}
	if diff := cmp.Diff(want, res.Output); diff != "" {
		t.Fatalf("output mismatch (-want +got):\n%s", diff)
	}
}

func TestTransformFailuresArePermanent(t *testing.T) {
	t.Parallel()
	for name, output := range map[string]any{
		"runtime error":        "trigger.body.missing.deeper",
		"not JSON-encodable":   "1 / 0",
		"nested runtime error": []any{"1", "trigger.body.order.id - 1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := mustLookup(t, "transform").Run(context.Background(), Deps{}, map[string]any{"output": output}, testEnv())
			mustPermanent(t, err)
		})
	}
}

func TestLogWritesOneLineAtItsLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		with      map[string]any
		wantLevel string
		wantField map[string]any
	}{
		{"default level is info", map[string]any{"message": "order {{ trigger.body.order.id }}"}, "info", nil},
		{"debug", map[string]any{"message": "order {{ trigger.body.order.id }}", "level": "debug"}, "debug", nil},
		{"warn", map[string]any{"message": "order {{ trigger.body.order.id }}", "level": "warn"}, "warn", nil},
		{"error with fields", map[string]any{"message": "order {{ trigger.body.order.id }}", "level": "error",
			"fields": map[string]any{"total": "steps.normalize.output.total", "n": 2.0}},
			"error", map[string]any{"total": 180.0, "n": 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := mustLookup(t, "log").Run(context.Background(), Deps{}, tt.with, testEnv())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := []LogLine{{Level: tt.wantLevel, Message: "order o-1", Fields: tt.wantField}}
			if diff := cmp.Diff(want, res.Logs, cmpopts.IgnoreFields(LogLine{}, "Time")); diff != "" {
				t.Fatalf("logs mismatch (-want +got):\n%s", diff)
			}
			if res.Logs[0].Time.IsZero() {
				t.Fatal("log line has no time")
			}
			if diff := cmp.Diff(map[string]any{"message": "order o-1"}, res.Output); diff != "" {
				t.Fatalf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArtifactEncodesContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		with        map[string]any
		wantName    string
		wantType    string
		wantContent string
	}{
		{"map as compact JSON with default type",
			map[string]any{"name": "receipt-{{ steps.normalize.output.id }}.json", "content": "steps.normalize.output"},
			"receipt-o-1.json", "application/json", `{"id":"o-1","total":180}`},
		{"string as is",
			map[string]any{"name": "note.txt", "content_type": "text/plain", "content": `"line <1>\nline 2"`},
			"note.txt", "text/plain", "line <1>\nline 2"},
		{"number as JSON",
			map[string]any{"name": "n", "content": "trigger.body.order.total"},
			"n", "application/json", "150"},
		{"nested map of expressions",
			map[string]any{"name": "n", "content": map[string]any{"tags": "trigger.body.order.tags"}},
			"n", "application/json", `{"tags":["a","b"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := mustLookup(t, "artifact").Run(context.Background(), Deps{}, tt.with, testEnv())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			wantArtifacts := []Artifact{{Name: tt.wantName, ContentType: tt.wantType, Content: []byte(tt.wantContent)}}
			if diff := cmp.Diff(wantArtifacts, res.Artifacts); diff != "" {
				t.Fatalf("artifacts mismatch (-want +got):\n%s", diff)
			}
			sum := sha256.Sum256([]byte(tt.wantContent))
			wantOut := map[string]any{
				"name": tt.wantName, "content_type": tt.wantType,
				"size_bytes": len(tt.wantContent), "sha256": hex.EncodeToString(sum[:]),
			}
			if diff := cmp.Diff(wantOut, res.Output); diff != "" {
				t.Fatalf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArtifactRejectsBadRenderedNames(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":          `{{ "" }}`,
		"slash":          `{{ "a/b" }}`,
		"backslash":      `{{ "a\\b" }}`,
		"dot dot":        `{{ ".." }}`,
		"too long":       `{{ repeat("x", 256) }}`,
		"control char":   `{{ "a\u0000b" }}`,
		"nil renders ''": `{{ trigger.body.missing }}`,
	}
	for name, tmpl := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			with := map[string]any{"name": tmpl, "content": "1"}
			_, err := mustLookup(t, "artifact").Run(context.Background(), Deps{}, with, testEnv())
			mustPermanent(t, err)
		})
	}
}

func TestArtifactAcceptsNameOfMaximumLength(t *testing.T) {
	t.Parallel()
	with := map[string]any{"name": strings.Repeat("x", MaxArtifactNameBytes), "content": "1"}
	if _, err := mustLookup(t, "artifact").Run(context.Background(), Deps{}, with, testEnv()); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
