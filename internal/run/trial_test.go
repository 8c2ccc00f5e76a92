package run_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"aias/internal/errs"
	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/secret"
	"aias/internal/workflow"
)

func trialDef(t *testing.T, yaml string) workflow.Definition {
	t.Helper()
	d, err := workflow.Decode([]byte(yaml), "application/yaml")
	if err == nil {
		err = d.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// countRows is how many rows of a table the tenant has.
func countRows(t *testing.T, b bundle, table string) int {
	t.Helper()
	var n int
	err := b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, b.tenant)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTryRunsEachStepAndStoresNothing(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	d := trialDef(t, `
name: trial
steps:
  - name: double
    type: transform
    with: {output: {total: "trigger.body.total * 2", who: "trigger.headers['x-who']"}}
  - name: wait
    type: delay
    with: {for: 1h}
  - name: each
    type: foreach
    with: {items: "[1, 2]"}
    steps:
      - name: note
        type: log
        with: {message: "item {{ item }}"}
  - name: receipt
    type: artifact
    with: {name: r.json, content: "steps.double.output"}
`)
	res, err := e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d,
		Body: []byte(`{"total": 21}`), Headers: map[string]string{"X-Who": "ada"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "succeeded" || res.Error != "" {
		t.Fatalf("Try = %+v, want succeeded", res)
	}
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "double,wait,each,note,note,receipt" {
		t.Errorf("steps = %s, want double,wait,each,note,note,receipt (a delay does not stop a trial)", got)
	}
	var out map[string]any
	if err := json.Unmarshal(res.Steps[0].Output, &out); err != nil || out["total"] != 42.0 || out["who"] != "ada" {
		t.Errorf("double's output = %s, want total 42 and who ada", res.Steps[0].Output)
	}
	last := res.Steps[len(res.Steps)-1]
	if len(last.Artifacts) != 1 || !strings.Contains(last.Artifacts[0].Preview, `"total":42`) {
		t.Errorf("receipt's artifacts = %+v, want a preview of the JSON", last.Artifacts)
	}
	for _, table := range []string{"runs", "run_steps", "artifacts"} {
		if n := countRows(t, b, table); n != 0 {
			t.Errorf("%s has %d rows after a trial, want 0", table, n)
		}
	}
}

func TestTryReportsAFailedStepWithoutRetrying(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	d := trialDef(t, `
name: trial
steps:
  - name: gate
    type: condition
    with: {if: "trigger.body.ok", on_false: fail}
  - name: after
    type: log
    with: {message: never}
`)
	res, err := e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, Body: []byte(`{"ok": false}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "failed" || !strings.Contains(res.Error, "gate") || len(res.Steps) != 1 || res.Steps[0].Status != run.StepFailed {
		t.Errorf("Try = %+v, want failed at gate, one record", res)
	}
	d = trialDef(t, `
name: stop
steps:
  - name: gate
    type: condition
    with: {if: "trigger.body.ok"}
  - name: after
    type: log
    with: {message: never}
`)
	res, err = e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, Body: []byte(`{"ok": false}`)})
	if err != nil || res.Status != "stopped" || len(res.Skipped) != 1 || res.Skipped[0] != "after" {
		t.Errorf("Try = %+v, %v; want stopped with after skipped", res, err)
	}
}

func TestTryRunsSideEffectsOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	d := trialDef(t, `
name: calls
steps:
  - name: first
    type: log
    with: {message: hi}
  - name: ping
    type: http
    with: {url: "`+b.srv.URL+`/ping", method: POST, body: "trigger.body"}
`)
	_, err := e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, Body: []byte(`{}`)})
	if errs.CodeOf(err) != run.ErrSideEffects {
		t.Fatalf("Try without allowing side effects = %v, want %s", err, run.ErrSideEffects)
	}
	if e, _ := errs.As(err); len(e.Fields) != 1 || e.Fields[0].Path != "steps[1]" {
		t.Errorf("refusal fields = %+v, want steps[1]", e.Fields)
	}
	if n := b.calls.count("/ping"); n != 0 {
		t.Fatalf("refused trial made %d requests", n)
	}
	res, err := e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, Body: []byte(`{}`), AllowSideEffects: true})
	if err != nil || res.Status != "succeeded" || b.calls.count("/ping") != 1 {
		t.Fatalf("allowed trial = %+v, %v, %d requests; want succeeded and one request", res, err, b.calls.count("/ping"))
	}
}

func TestTryRedactsSecretsAndFailsOnAMissingOne(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	k, err := keyring.Parse(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	e.Keys = k
	d := trialDef(t, `
name: secretive
steps:
  - name: echo
    type: http
    with: {url: "`+b.srv.URL+`/echo", headers: {Authorization: "{{ secrets.TOKEN }}"}}
`)
	res, err := e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, AllowSideEffects: true})
	if err != nil || res.Status != "failed" || !strings.Contains(res.Error, "TOKEN") {
		t.Fatalf("Try with the secret unset = %+v, %v; want failed naming TOKEN", res, err)
	}
	err = b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		_, err := secret.Put(context.Background(), q, e.Keys, b.tenant, "TOKEN", "s3cret-value")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err = e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, AllowSideEffects: true})
	if err != nil || res.Status != "succeeded" {
		t.Fatalf("Try = %+v, %v", res, err)
	}
	if b, _ := json.Marshal(res); strings.Contains(string(b), "s3cret-value") {
		t.Errorf("trial result shows the secret: %s", b)
	}
}

func TestTryIsBoundedByTheDefinitionsTimeout(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	release := make(chan struct{})
	defer close(release)
	b.calls.mu.Lock()
	b.calls.block["/slow"] = release
	b.calls.mu.Unlock()
	d := trialDef(t, `
name: slow
timeout: 1s
steps:
  - name: wait
    type: http
    with: {url: "`+b.srv.URL+`/slow"}
`)
	res, err := e.Try(context.Background(), run.Trial{TenantID: b.tenant, Definition: d, AllowSideEffects: true})
	if err != nil || res.Status != "failed" || !strings.Contains(res.Error, "timeout of 1s") {
		t.Fatalf("Try of a step slower than the definition's timeout = %+v, %v; want failed, naming the 1s timeout", res, err)
	}
}
