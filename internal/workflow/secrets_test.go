package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
)

const (
	msgPlacement = "secrets may only be used in an http step's url, headers and body"
	msgFixedName = "secrets must be referenced by a fixed name"
)

func httpStep(name string, with map[string]any) Step {
	if _, ok := with["url"]; !ok {
		with["url"] = "https://api.example.com/orders"
	}
	return Step{Name: name, Type: "http", With: with}
}

func TestValidateAllowsSecretsInHTTPRequests(t *testing.T) {
	t.Parallel()
	d := Definition{Name: "wf", Steps: []Step{
		logStep("first"),
		httpStep("call", map[string]any{
			"url":     "https://api.example.com/o?key={{ secrets.API_KEY }}",
			"method":  "POST",
			"headers": map[string]any{"Authorization": "Bearer {{ secrets.ORDERS_TOKEN }}"},
			"body":    map[string]any{"token": `secrets["ORDERS_TOKEN"]`, "id": "trigger.body.id"},
			"timeout": "5s",
			"expect":  []any{200.0},
		}),
	}}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateRejectsSecretsOutsideHTTPRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		step    Step
		path    string
		message string
	}{
		{"transform output", Step{Name: "b", Type: "transform", With: map[string]any{"output": map[string]any{"t": "secrets.ORDERS_TOKEN"}}},
			"steps[1].with.output.t", msgPlacement},
		{"condition if", Step{Name: "b", Type: "condition", With: map[string]any{"if": `secrets.ORDERS_TOKEN != ""`}},
			"steps[1].with.if", msgPlacement},
		{"log message", Step{Name: "b", Type: "log", With: map[string]any{"message": "t={{ secrets.ORDERS_TOKEN }}"}},
			"steps[1].with.message", msgPlacement},
		{"log fields", Step{Name: "b", Type: "log", With: map[string]any{"message": "m", "fields": map[string]any{"t": "secrets.T"}}},
			"steps[1].with.fields.t", msgPlacement},
		{"artifact name", Step{Name: "b", Type: "artifact", With: map[string]any{"name": "{{ secrets.T }}.json", "content": "1"}},
			"steps[1].with.name", msgPlacement},
		{"artifact content", Step{Name: "b", Type: "artifact", With: map[string]any{"name": "a.json", "content": `{"t": secrets.T}`}},
			"steps[1].with.content", msgPlacement},
		{"http method", httpStep("b", map[string]any{"method": "{{ secrets.M }}"}), "steps[1].with.method", msgPlacement},
		{"http timeout", httpStep("b", map[string]any{"timeout": "{{ secrets.T }}"}), "steps[1].with.timeout", msgPlacement},
		{"http expect", httpStep("b", map[string]any{"expect": []any{"secrets.E"}}), "steps[1].with.expect[0]", msgPlacement},
		{"dynamic index", httpStep("b", map[string]any{"body": "secrets[trigger.body.x]"}), "steps[1].with.body", msgFixedName},
		{"dynamic index in template", httpStep("b", map[string]any{"headers": map[string]any{"X-T": "{{ secrets[run.id] }}"}}),
			"steps[1].with.headers.X-T", msgFixedName},
		{"whole map", httpStep("b", map[string]any{"body": "secrets"}), "steps[1].with.body", msgFixedName},
		{"bad name", httpStep("b", map[string]any{"url": `https://x.test/{{ secrets["1BAD"] }}`}),
			"steps[1].with.url", `secret name "1BAD" is invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := withStep(tt.step).Validate()
			e, ok := errs.As(err)
			if !ok || e.Code != "validation_failed" {
				t.Fatalf("Validate = %v, want validation_failed", err)
			}
			if len(e.Fields) != 1 || e.Fields[0].Path != tt.path || !strings.HasPrefix(e.Fields[0].Message, tt.message) {
				t.Fatalf("problems = %v, want exactly one at %s: %q", e.Fields, tt.path, tt.message)
			}
		})
	}
}

func TestSecretNames(t *testing.T) {
	t.Parallel()
	d := Definition{Name: "wf", Steps: []Step{
		{Name: "norm", Type: "transform", With: map[string]any{"output": "trigger.body"}},
		httpStep("a", map[string]any{
			"url":     "https://x.test/{{ secrets.ZED }}?k={{ secrets.API_KEY }}",
			"headers": map[string]any{"Authorization": "Bearer {{ secrets.ORDERS_TOKEN }}", "X-Plain": "v"},
		}),
		httpStep("b", map[string]any{
			"body": map[string]any{"t": `secrets["ORDERS_TOKEN"]`, "list": []any{"secrets.BODY_ONLY", "steps.a.output"}},
		}),
		// Not loaded: secrets are never given to these expressions.
		{Name: "c", Type: "transform", With: map[string]any{"output": "secrets.NOT_LOADED"}},
		// Not loaded: an invalid name and an unparsable expression.
		httpStep("d", map[string]any{"body": map[string]any{"x": `secrets["bad name"]`, "y": "secrets.BROKEN +"}}),
		{Name: "e", Type: "unknown", With: map[string]any{"x": "secrets.UNKNOWN_TYPE"}},
	}}
	want := []string{"API_KEY", "BODY_ONLY", "ORDERS_TOKEN", "ZED"}
	if diff := cmp.Diff(want, d.SecretNames()); diff != "" {
		t.Fatalf("SecretNames mismatch (-want +got):\n%s", diff)
	}
	if got := (Definition{Name: "wf", Steps: []Step{logStep("a")}}).SecretNames(); len(got) != 0 {
		t.Fatalf("SecretNames = %v, want none", got)
	}
}

// Through the whole definition, each way of making something of a secret
// is refused at the path of the field that does it.
func TestValidateRejectsSecretsUsedInsideExpressions(t *testing.T) {
	t.Parallel()
	const whole = "a secret may only be used whole"
	tests := []struct {
		name string
		with map[string]any
		path string
	}{
		{"a converted slice in the body", map[string]any{"body": "int(secrets.ORDERS_TOKEN[1:])"}, "steps[1].with.body"},
		{"upper in a body leaf", map[string]any{"body": map[string]any{"t": "upper(secrets.ORDERS_TOKEN)"}}, "steps[1].with.body.t"},
		{"a slice in the url", map[string]any{"url": "https://api.example.com/{{ secrets.ORDERS_TOKEN[0:4] }}"}, "steps[1].with.url"},
		{"a concatenation in a header", map[string]any{"headers": map[string]any{"X-T": `{{ "t=" + secrets.ORDERS_TOKEN }}`}}, "steps[1].with.headers.X-T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := withStep(httpStep("b", tt.with)).Validate()
			e, ok := errs.As(err)
			if !ok || e.Code != "validation_failed" {
				t.Fatalf("Validate = %v, want validation_failed", err)
			}
			if len(e.Fields) != 1 || e.Fields[0].Path != tt.path || !strings.HasPrefix(e.Fields[0].Message, whole) {
				t.Fatalf("problems = %v, want exactly one at %s: %q", e.Fields, tt.path, whole)
			}
		})
	}
}
