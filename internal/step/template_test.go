package step

import (
	"context"
	"strings"
	"testing"
)

func TestRenderStringifiesValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl, want string
	}{
		{"no parts", "plain text", "plain text"},
		{"string", "id={{ steps.normalize.output.id }}", "id=o-1"},
		{"float", "{{ trigger.body.order.total }}", "150"},
		{"fraction", "{{ 1.5 }}", "1.5"},
		{"large number without exponent", "{{ 12345678901.0 }}", "12345678901"},
		{"int", "{{ run.attempt + 1 }}", "2"},
		{"bool", "{{ run.attempt == 1 }}", "true"},
		{"nil", "[{{ trigger.body.missing }}]", "[]"},
		{"map as compact JSON", "{{ steps.normalize.output }}", `{"id":"o-1","total":180}`},
		{"list as compact JSON", "{{ trigger.body.order.tags }}", `["a","b"]`},
		{"no HTML escaping", `{{ "<b>" }}`, "<b>"},
		{"several parts without spaces", "{{run.attempt}}-{{step.name}}", "1-notify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render(context.Background(), tt.tmpl, testEnv())
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.tmpl, err)
			}
			if got != tt.want {
				t.Fatalf("Render(%q) = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestRenderRuntimeErrorIsPermanent(t *testing.T) {
	t.Parallel()
	_, err := Render(context.Background(), "x-{{ trigger.body.missing.deeper }}", testEnv())
	mustPermanent(t, err)
}

func TestCompileTemplateChecksEveryPart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl, wantErr string
	}{
		{"literal", "no parts at all", ""},
		{"valid parts", "{{ run.id }}/{{ steps.normalize.output.id }}", ""},
		{"single braces are literal", "{ not a part }", ""},
		{"unclosed", "hello {{ run.id", "unclosed"},
		{"empty part", "a {{ }} b", "empty"},
		{"bad second part", "{{ run.id }} {{ 1 + }}", "invalid expression"},
		{"unknown root", "{{ secret.TOKEN }}", "unknown name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CompileTemplate(tt.tmpl)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CompileTemplate(%q) = %v, want nil", tt.tmpl, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CompileTemplate(%q) = %v, want error containing %q", tt.tmpl, err, tt.wantErr)
			}
		})
	}
}

func FuzzCompileTemplate(f *testing.F) {
	for _, s := range []string{"plain", "a {{ run.id }} b", "{{", "{{ }}", "{{ 1 + }}", "}}{{x}}", "{{ {'a': 1} }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		if err := CompileTemplate(tmpl); err != nil {
			return
		}
		// A template that compiles renders or fails cleanly, and its
		// references can be extracted.
		_, _ = Render(context.Background(), tmpl, testEnv())
		if _, err := templateRefs(tmpl); err != nil {
			t.Fatalf("templateRefs(%q) failed on a compiling template: %v", tmpl, err)
		}
	})
}
