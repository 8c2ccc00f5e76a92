package run_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"aias/internal/run"
)

// The outputs of control nodes are recorded in shapes that runs stored
// long ago still hold: {"case": n}, {"items": [...]}, {"until": RFC 3339},
// {"passed": bool}. A run resumes from such records on the path they
// recorded, even where its expressions would now decide otherwise.

// died leaves run id as a first delivery that died leaves it: running,
// started a while ago (so the next claim reads its step records).
func (b bundle) died(t *testing.T, id uuid.UUID) {
	t.Helper()
	b.exec(t, `UPDATE runs SET status = 'running', attempt = 1, started_at = now() - interval '1 minute' WHERE id = $1`, id)
}

// record writes a succeeded step record as a delivery that then died left it.
func (b bundle) record(t *testing.T, id uuid.UUID, pos int, name, typ, output string) {
	t.Helper()
	b.exec(t, `INSERT INTO run_steps (tenant_id, run_id, position, name, type, status, attempt, output)
	           VALUES ($1, $2, $3, $4, $5, 'succeeded', 1, $6)`, b.tenant, id, pos, name, typ, output)
}

func TestARunResumesOnTheBranchAndItemsItsRecordsHold(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: resume
steps:
  - name: route
    type: switch
    cases:
      - { when: "trigger.body.total > 100", steps: [ { name: big, type: http, with: { url: "%[1]s/big" } } ] }
    default: [ { name: small, type: http, with: { url: "%[1]s/small" } } ]
  - name: each
    type: foreach
    with: { items: "[1]" }
    steps: [ { name: post, type: http, with: { url: "%[1]s/item/{{ item }}" } } ]
  - { name: done, type: transform, with: { output: "steps.each.output" } }
`, b.srv.URL))
	// The delivery died inside the loop, after the first item.
	b.died(t, id)
	b.record(t, id, 0, "route", "switch", `{"case": 0}`) // total is 5: the when would now choose default
	b.record(t, id, 1, "big", "http", `{"status": 200}`)
	b.record(t, id, 2, "each", "foreach", `{"items": ["a", "b"]}`) // items would now be [1]
	b.record(t, id, 3, "post", "http", `{"status": 201}`)

	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Succeeded {
		t.Fatalf("run = %s (%s), want succeeded", r.Status, deref(r.Error))
	}
	calls := map[string]int{}
	for _, p := range []string{"/big", "/small", "/item/a", "/item/b", "/item/1"} {
		calls[p] = b.calls.count(p)
	}
	if diff := cmp.Diff(map[string]int{"/big": 0, "/small": 0, "/item/a": 0, "/item/b": 1, "/item/1": 0}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(steps) != 6 {
		t.Fatalf("%d step records, want 6: route, big, each, post twice, done", len(steps))
	}
	var done struct {
		Items   []string `json:"items"`
		Results []struct {
			Post struct {
				Status int `json:"status"`
			} `json:"post"`
		} `json:"results"`
	}
	if err := json.Unmarshal(steps[5].Output, &done); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(done.Items, []string{"a", "b"}) || len(done.Results) != 2 ||
		done.Results[0].Post.Status != 201 || done.Results[1].Post.Status != 200 {
		t.Errorf("done = %s, want items a and b, the first result recorded (201), the second run (200)", steps[5].Output)
	}
}

func TestARunResumesPastTheDelayAndConditionItsRecordsHold(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: resume
steps:
  - { name: wait, type: delay, with: { for: 1h } }
  - { name: gate, type: condition, with: { if: "trigger.body.total > 100" } }
  - { name: notify, type: http, with: { url: "%s/notify" } }
`, b.srv.URL))
	b.died(t, id)
	b.record(t, id, 0, "wait", "delay", `{"until": "2024-02-29T23:59:59.987654321Z"}`)
	b.record(t, id, 1, "gate", "condition", `{"passed": true}`) // total is 5: the condition would now stop

	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Succeeded || b.calls.count("/notify") != 1 {
		t.Errorf("run = %s with %d notify calls, want succeeded with one", r.Status, b.calls.count("/notify"))
	}
}

func TestADeliveryBeforeARecordedDelayParksTheRunUntilItsTime(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: early
steps:
  - { name: wait, type: delay, with: { for: 1h } }
  - { name: notify, type: http, with: { url: "%s/notify" } }
`, b.srv.URL))
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second).Add(123456789)
	b.died(t, id)
	b.record(t, id, 0, "wait", "delay", fmt.Sprintf(`{"until": %q}`, until.Format(time.RFC3339Nano)))

	err := e.Execute(context.Background(), b.tenant, id, run.Attempt{})
	var d *run.DelayError
	if !errors.As(err, &d) || !d.Until.Equal(until) {
		t.Fatalf("Execute = %v, want a DelayError until %s", err, until)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Delayed || r.NextAttemptAt == nil || r.NextAttemptAt.Sub(until).Abs() > time.Microsecond {
		t.Errorf("run = %s next %v, want delayed until %s", r.Status, r.NextAttemptAt, until)
	}
	if n := b.calls.count("/notify"); n != 0 {
		t.Errorf("notify called %d times before the delay's time", n)
	}
}

func TestADelayUntilATimePastGoesOnInTheSameDelivery(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: past
steps:
  - { name: wait, type: delay, with: { until: "'2000-01-01T00:00:00Z'" } }
  - { name: notify, type: http, with: { url: "%s/notify" } }
`, b.srv.URL))
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v, want nil", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Succeeded || b.calls.count("/notify") != 1 {
		t.Errorf("run = %s with %d notify calls, want succeeded with one in one delivery", r.Status, b.calls.count("/notify"))
	}
}
