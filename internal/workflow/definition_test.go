package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"aias/internal/errs"
)

// The example from the design document, with a header that does not need
// secrets (they are not supported yet).
const exampleYAML = `
name: order-received
max_attempts: 5
steps:
  - name: normalize
    type: transform
    with:
      output: { id: "trigger.body.order.id", total: "trigger.body.order.total * 1.2" }
  - name: big-only
    type: condition
    with: { if: "steps.normalize.output.total > 100" }
  - name: notify
    type: http
    with:
      method: POST
      url: "https://example.com/hooks/orders"
      headers: { X-Order-Id: "{{ steps.normalize.output.id }}" }
      body: "steps.normalize.output"
  - name: receipt
    type: artifact
    with: { name: "receipt-{{ steps.normalize.output.id }}.json", content_type: application/json, content: "steps.normalize.output" }
`

const exampleJSON = `{
  "name": "order-received",
  "max_attempts": 5,
  "steps": [
    {"name": "normalize", "type": "transform",
     "with": {"output": {"id": "trigger.body.order.id", "total": "trigger.body.order.total * 1.2"}}},
    {"name": "big-only", "type": "condition", "with": {"if": "steps.normalize.output.total > 100"}},
    {"name": "notify", "type": "http", "with": {
      "method": "POST", "url": "https://example.com/hooks/orders",
      "headers": {"X-Order-Id": "{{ steps.normalize.output.id }}"}, "body": "steps.normalize.output"}},
    {"name": "receipt", "type": "artifact", "with": {
      "name": "receipt-{{ steps.normalize.output.id }}.json", "content_type": "application/json",
      "content": "steps.normalize.output"}}
  ]
}`

func exampleDefinition() Definition {
	return Definition{
		Name:        "order-received",
		MaxAttempts: 5,
		Steps: []Step{
			{Name: "normalize", Type: "transform", With: map[string]any{
				"output": map[string]any{"id": "trigger.body.order.id", "total": "trigger.body.order.total * 1.2"}}},
			{Name: "big-only", Type: "condition", With: map[string]any{"if": "steps.normalize.output.total > 100"}},
			{Name: "notify", Type: "http", With: map[string]any{
				"method": "POST", "url": "https://example.com/hooks/orders",
				"headers": map[string]any{"X-Order-Id": "{{ steps.normalize.output.id }}"}, "body": "steps.normalize.output"}},
			{Name: "receipt", Type: "artifact", With: map[string]any{
				"name": "receipt-{{ steps.normalize.output.id }}.json", "content_type": "application/json",
				"content": "steps.normalize.output"}},
		},
	}
}

func TestDecodeAcceptsTheExampleInJSONAndYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, contentType string
	}{
		{"JSON without content type", exampleJSON, ""},
		{"JSON", exampleJSON, "application/json"},
		{"JSON with charset", exampleJSON, "application/json; charset=utf-8"},
		{"vendor JSON", exampleJSON, "application/vnd.aias.workflow+json"},
		{"YAML", exampleYAML, "application/yaml"},
		{"x-yaml", exampleYAML, "application/x-yaml"},
		{"text/yaml", exampleYAML, "text/yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Decode([]byte(tt.body), tt.contentType)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(exampleDefinition(), d); diff != "" {
				t.Fatalf("definition mismatch (-want +got):\n%s", diff)
			}
			if err := d.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestDecodeRejectsUnsupportedContentTypes(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/plain", "application/xml", "not a type;;"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(exampleJSON), ct)
			if errs.KindOf(err) != errs.Unsupported || errs.CodeOf(err) != "unsupported_media_type" {
				t.Fatalf("Decode with %q = %v, want unsupported_media_type", ct, err)
			}
		})
	}
}

func TestDecodeReportsSyntaxErrorsAsValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, contentType string
	}{
		{"truncated JSON", `{"name": "x"`, "application/json"},
		{"trailing data", `{} {}`, "application/json"},
		{"empty body", ``, "application/json"},
		{"bad YAML", "name: [unclosed", "application/yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body), tt.contentType)
			e, ok := errs.As(err)
			if !ok || e.Code != "validation_failed" || len(e.Fields) != 1 || e.Fields[0].Path != "" {
				t.Fatalf("Decode(%q) = %#v, want validation_failed with one root problem", tt.body, err)
			}
		})
	}
}

func TestDecodeRejectsUnknownAndMistypedFieldsWithPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       []errs.FieldError
	}{
		{"not an object", `[1]`, []errs.FieldError{{Path: "", Message: "must be an object"}}},
		{"null document", `null`, []errs.FieldError{{Path: "", Message: "must be an object"}}},
		{"unknown fields everywhere", `{"name": "x", "owner": "me", "steps": [
			{"name": "a", "type": "log", "with": {"message": "m"}},
			{"name": "b", "type": "log", "retries": 3, "with": {}}]}`,
			[]errs.FieldError{
				{Path: "owner", Message: "unknown field"},
				{Path: "steps[1].retries", Message: "unknown field"},
			}},
		{"wrong types", `{"name": 1, "max_attempts": 2.5, "steps": [
			"oops", {"name": ["a"], "type": "log", "with": "x"}]}`,
			[]errs.FieldError{
				{Path: "max_attempts", Message: "must be an integer"},
				{Path: "name", Message: "must be a string"},
				{Path: "steps[0]", Message: "must be an object"},
				{Path: "steps[1].name", Message: "must be a string"},
				{Path: "steps[1].with", Message: "must be an object"},
			}},
		{"steps not a list", `{"name": "x", "steps": {}}`,
			[]errs.FieldError{{Path: "steps", Message: "must be a list"}}},
		{"huge max_attempts", `{"name": "x", "max_attempts": 1e30, "steps": []}`,
			[]errs.FieldError{{Path: "max_attempts", Message: "must be an integer"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body), "")
			e, ok := errs.As(err)
			if !ok || e.Code != "validation_failed" {
				t.Fatalf("Decode = %v, want validation_failed", err)
			}
			// Lines and columns are Locate's, tested in locate_test.go.
			ignorePosition := cmpopts.IgnoreFields(errs.FieldError{}, "Line", "Column")
			if diff := cmp.Diff(tt.want, e.Fields, ignorePosition); diff != "" {
				t.Fatalf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeTreatsNullFieldsAsAbsent(t *testing.T) {
	t.Parallel()
	d, err := Decode([]byte(`{"name": "x", "description": null, "steps": [{"name": "a", "type": "log", "with": null}]}`), "")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := Definition{Name: "x", Steps: []Step{{Name: "a", Type: "log"}}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("definition mismatch (-want +got):\n%s", diff)
	}
}

func TestEffectiveMaxAttemptsDefaultsToFive(t *testing.T) {
	t.Parallel()
	if got := (Definition{}).EffectiveMaxAttempts(); got != DefaultMaxAttempts {
		t.Fatalf("EffectiveMaxAttempts() = %d, want %d", got, DefaultMaxAttempts)
	}
	if got := (Definition{MaxAttempts: 2}).EffectiveMaxAttempts(); got != 2 {
		t.Fatalf("EffectiveMaxAttempts() = %d, want 2", got)
	}
}

func TestJSONIsCanonicalAndRoundTrips(t *testing.T) {
	t.Parallel()
	fromYAML, err := Decode([]byte(exampleYAML), "application/yaml")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	fromJSON, err := Decode([]byte(exampleJSON), "")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if a, b := string(fromYAML.JSON()), string(fromJSON.JSON()); a != b {
		t.Fatalf("canonical forms differ:\n%s\n%s", a, b)
	}
	canon := fromYAML.JSON()
	if strings.Contains(string(canon), `\u003e`) || strings.Contains(string(canon), "\n") {
		t.Fatalf("canonical JSON is escaped or indented: %s", canon)
	}
	again, err := Decode(canon, "application/json")
	if err != nil {
		t.Fatalf("Decode(canonical): %v", err)
	}
	if diff := cmp.Diff(fromYAML, again); diff != "" {
		t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
	}
}

// validationPaths returns the paths err reports, failing the test when err is
// not a validation error.
func validationPaths(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return []string{}
	}
	e, ok := errs.As(err)
	if !ok || e.Code != "validation_failed" || e.Kind != errs.Invalid {
		t.Fatalf("error %v is not a validation error", err)
	}
	out := []string{}
	for _, f := range e.Fields {
		out = append(out, f.Path)
	}
	return out
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })
