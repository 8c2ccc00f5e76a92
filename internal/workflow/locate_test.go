package workflow

import (
	"errors"
	"testing"

	"aias/internal/errs"
)

const locatedYAML = `name: orders
steps:
  - name: first
    type: log
    with:
      message: "hi"
  - name: second
    type: transform
    with:
      output:
        total: "trigger.body.total *"
  - name: third
    type: email
`

// fieldsOf returns the field problems of a validation error by path.
func fieldsOf(t *testing.T, err error) map[string]errs.FieldError {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error = %v, want a validation error", err)
	}
	out := map[string]errs.FieldError{}
	for _, f := range e.Fields {
		out[f.Path] = f
	}
	return out
}

func TestLocatePlacesValidationProblemsAtTheirLines(t *testing.T) {
	t.Parallel()
	body := []byte(locatedYAML)
	d, err := Decode(body, "application/yaml")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	got := fieldsOf(t, Locate(body, d.Validate()))
	for path, want := range map[string][2]int{
		"steps[1].with.output.total": {11, 9},
		"steps[2].type":              {13, 5},
	} {
		f, ok := got[path]
		if !ok {
			t.Errorf("no problem at %s; got %v", path, got)
			continue
		}
		if f.Line != want[0] || f.Column != want[1] {
			t.Errorf("%s at line %d column %d, want %v", path, f.Line, f.Column, want)
		}
	}
}

func TestLocateAbsentFieldPlacesAtItsParent(t *testing.T) {
	t.Parallel()
	body := []byte("name: wf\nsteps:\n  - type: log\n    with: {message: hi}\n")
	d, err := Decode(body, "application/yaml")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	f := fieldsOf(t, Locate(body, d.Validate()))["steps[0].name"]
	if f.Line != 3 {
		t.Errorf("missing step name at line %d, want 3 (the step's)", f.Line)
	}
}

func TestDecodePlacesUnknownFieldsAndSyntaxErrors(t *testing.T) {
	t.Parallel()
	_, err := Decode([]byte("name: wf\nsteps:\n  - name: a\n    typo: log\n"), "application/yaml")
	if f := fieldsOf(t, err)["steps[0].typo"]; f.Line != 4 || f.Column != 5 {
		t.Errorf("unknown field at %d:%d, want 4:5", f.Line, f.Column)
	}
	_, err = Decode([]byte("name: wf\nsteps:\n  - name: a\n   type: [\n"), "application/yaml")
	if f := fieldsOf(t, err)[""]; f.Line == 0 {
		t.Errorf("YAML syntax error %q has no line", f.Message)
	}
	_, err = Decode([]byte("{\n  \"name\": \"wf\",\n  \"steps\": [}\n"), "application/json")
	if f := fieldsOf(t, err)[""]; f.Line != 3 {
		t.Errorf("JSON syntax error %q at line %d, want 3", f.Message, f.Line)
	}
	_, err = Decode([]byte("{\"name\": \"wf\",\n \"steps\": [{\"name\": \"a\", \"kind\": \"log\"}]}"), "application/json")
	if f := fieldsOf(t, err)["steps[0].kind"]; f.Line != 2 {
		t.Errorf("unknown field of a JSON document at line %d, want 2", f.Line)
	}
}

func TestLocateLeavesOtherErrorsAlone(t *testing.T) {
	t.Parallel()
	other := errs.E(errs.Conflict, "name_taken", "taken")
	if got := Locate([]byte("name: x"), other); !errors.Is(got, other) {
		t.Errorf("Locate(conflict) = %v, want it unchanged", got)
	}
	if got := Locate([]byte("name: x"), nil); got != nil {
		t.Errorf("Locate(nil) = %v", got)
	}
	// A body that does not parse leaves the problems without lines.
	v := errs.Validation("bad", errs.FieldError{Path: "name", Message: "m"})
	if f := fieldsOf(t, Locate([]byte("a: [\n"), v))["name"]; f.Line != 0 {
		t.Errorf("line from an unparsable body = %d", f.Line)
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	got := segments("steps[2].cases[0].steps[1].with.url")
	want := []segment{{"steps", -1}, {"", 2}, {"cases", -1}, {"", 0}, {"steps", -1}, {"", 1}, {"with", -1}, {"url", -1}}
	if len(got) != len(want) {
		t.Fatalf("segments = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("segments[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if s := segments(""); len(s) != 0 {
		t.Errorf("segments(\"\") = %v", s)
	}
}

func TestSideEffectsListsNestedHTTPAndCallbackStepsAtTheirLines(t *testing.T) {
	t.Parallel()
	body := []byte(`name: fx
steps:
  - name: first
    type: log
    with: {message: hi}
  - name: each
    type: foreach
    with: {items: "[1]"}
    steps:
      - name: call
        type: http
        with: {url: "https://example.com/x"}
  - name: done
    type: callback
    with: {url: "https://example.com/done"}
`)
	d, err := Decode(body, "application/yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := LocateEffects(body, d.SideEffects())
	if len(got) != 2 || got[0].Path != "steps[1].steps[0]" || got[0].Line != 10 || got[1].Name != "done" || got[1].Line != 13 {
		t.Errorf("SideEffects = %+v, want call (steps[1].steps[0], line 10) and done (line 13)", got)
	}
	if e := (Definition{Steps: []Step{logStep("a")}}).SideEffects(); len(e) != 0 {
		t.Errorf("SideEffects of a log step = %+v, want none", e)
	}
}
