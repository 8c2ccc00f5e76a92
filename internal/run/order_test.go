package run_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/workflow"
)

// keyedRuns stores a workflow and one queued run of it per body, in order,
// as the intake does: with the workflow's concurrency key expression.
func (b bundle) keyedRuns(t *testing.T, yaml string, bodies ...string) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	def, err := workflow.Decode([]byte(yaml), "application/yaml")
	if err == nil {
		err = def.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uuid.UUID, len(bodies))
	err = b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		w, err := workflow.Create(ctx, q, b.tenant, def)
		if err != nil {
			return err
		}
		for i, body := range bodies {
			ids[i], _, err = run.Insert(ctx, q, run.New{TenantID: b.tenant, WorkflowID: w.ID, WorkflowVersion: 1,
				TriggerKind: run.TriggerManual, MaxAttempts: def.EffectiveMaxAttempts(), Body: []byte(body),
				ContentType: "application/json", ReceivedAt: time.Now(), KeyExpr: def.ConcurrencyKey})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// keyState reads what Postgres holds of a run's key.
func (b bundle) keyState(t *testing.T, id uuid.UUID) (key *string, pending bool) {
	t.Helper()
	var row struct {
		Key     *string `db:"concurrency_key"`
		Pending bool    `db:"key_pending"`
	}
	err := b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &row, `SELECT concurrency_key, key_pending FROM runs WHERE id = $1`, id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return row.Key, row.Pending
}

const keyedWorkflow = `
name: keyed
concurrency_key: trigger.body.customer
steps:
  - { name: a, type: transform, with: { output: trigger.body.customer } }
`

// The ingress evaluates no tenant expression: a run is stored with its key
// pending, and the worker computes it.
func TestTheConcurrencyKeyIsComputedByTheWorkerNotAtIntake(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.keyedRuns(t, keyedWorkflow, `{"customer":"c1"}`)[0]
	if key, pending := b.keyState(t, id); key != nil || !pending {
		t.Fatalf("after insert: key %v pending %v, want no key yet and pending", key, pending)
	}
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, _ := b.get(t, id)
	key, pending := b.keyState(t, id)
	if r.Status != run.Succeeded || key == nil || *key != "c1" || pending {
		t.Fatalf("after the run: %s, key %v pending %v; want succeeded with key c1", r.Status, key, pending)
	}
}

// A run whose key is not yet known may turn out to share any later run's
// key, so the later run waits for it: earlier runs still go first.
func TestALaterRunWaitsForAnEarlierRunWhoseKeyIsStillPending(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	ids := b.keyedRuns(t, keyedWorkflow, `{"customer":"c1"}`, `{"customer":"c2"}`)
	first, second := ids[0], ids[1]
	ctx := context.Background()

	if err := e.Execute(ctx, b.tenant, second, run.Attempt{}); !errors.Is(err, run.ErrBusy) {
		t.Fatalf("the later run's delivery = %v, want ErrBusy while the earlier run's key is pending", err)
	}
	r, _ := b.get(t, second)
	if key, _ := b.keyState(t, second); r.Status != run.Queued || r.Attempt != 0 || r.StartedAt != nil || key == nil || *key != "c2" {
		t.Fatalf("the waiting run = %s attempt %d started %v key %v; want queued, attempt and start given back, key c2 recorded",
			r.Status, r.Attempt, r.StartedAt, key)
	}
	if err := e.Execute(ctx, b.tenant, first, run.Attempt{}); err != nil {
		t.Fatalf("the earlier run: %v", err)
	}
	// The earlier run's key is another: the later run no longer waits.
	if err := e.Execute(ctx, b.tenant, second, run.Attempt{}); err != nil {
		t.Fatalf("the later run, again: %v", err)
	}
	if r, _ := b.get(t, second); r.Status != run.Succeeded || r.Attempt != 1 {
		t.Fatalf("the later run = %s attempt %d, want succeeded on its first counted attempt", r.Status, r.Attempt)
	}
}

// Two runs of one key whose keys are both computed by the worker keep
// their arrival order.
func TestRunsOfOneKeyComputedByTheWorkerKeepTheirOrder(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	ids := b.keyedRuns(t, keyedWorkflow, `{"customer":"c1"}`, `{"customer":"c1"}`)
	ctx := context.Background()
	if err := e.Execute(ctx, b.tenant, ids[0], run.Attempt{}); err != nil {
		t.Fatal(err)
	}
	b.exec(t, `UPDATE runs SET status = 'running' WHERE id = $1`, ids[0]) // as if still in its steps
	if err := e.Execute(ctx, b.tenant, ids[1], run.Attempt{}); !errors.Is(err, run.ErrBusy) {
		t.Fatalf("the second run of the key = %v, want ErrBusy while the first is unfinished", err)
	}
	b.exec(t, `UPDATE runs SET status = 'succeeded' WHERE id = $1`, ids[0])
	if err := e.Execute(ctx, b.tenant, ids[1], run.Attempt{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.get(t, ids[1]); r.Status != run.Succeeded {
		t.Fatalf("the second run = %s, want succeeded", r.Status)
	}
}

// A key expression that would exhaust memory is stopped by the worker's
// budget and fails its run for good; the run behind it is not held up.
func TestAKeyThatCannotBeComputedFailsItsRunForGood(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	bomb := `let a0 = repeat(trigger.body.x, 999999);`
	for i := 1; i <= 10; i++ {
		bomb += fmt.Sprintf(" let a%d = a%d + a%d;", i, i-1, i-1)
	}
	ids := b.keyedRuns(t, fmt.Sprintf(`
name: bomb
concurrency_key: %q
steps:
  - { name: a, type: transform, with: { output: "1" } }
`, bomb+" a10"), `{"x":"x"}`, `{"x":""}`)
	ctx := context.Background()
	if err := e.Execute(ctx, b.tenant, ids[0], run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v, want the run failed and the task done", err)
	}
	r, steps := b.get(t, ids[0])
	if r.Status != run.Failed || !strings.Contains(deref(r.Error), "concurrency_key: expression stopped: it would build more than 32 MiB") {
		t.Fatalf("run = %s (%s), want failed for its key", r.Status, deref(r.Error))
	}
	if len(steps) != 0 {
		t.Errorf("%d steps ran, want none", len(steps))
	}
	if err := e.Execute(ctx, b.tenant, ids[1], run.Attempt{}); err != nil {
		t.Fatalf("the next run: %v", err)
	}
	if r, _ := b.get(t, ids[1]); r.Status != run.Succeeded {
		t.Errorf("the next run = %s, want succeeded", r.Status)
	}
}

// A run whose key was decided before it reached this worker — as no key,
// by an intake that computed keys itself — is not judged again: it runs
// even if its expression now fails.
func TestARunWhoseKeyWasDecidedBeforeIsNotJudgedAgain(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.keyedRuns(t, `
name: decided
concurrency_key: "int(trigger.body.customer)"
steps:
  - { name: a, type: transform, with: { output: "1" } }
`, `{"customer":"not a number"}`)[0]
	b.exec(t, `UPDATE runs SET key_pending = false WHERE id = $1`, id)
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	if r, _ := b.get(t, id); r.Status != run.Succeeded {
		t.Fatalf("run = %s (%s), want succeeded", r.Status, deref(r.Error))
	}
}

// A key quotes trigger data: a NUL, or a character the length bound would
// cut in two, is stored as U+FFFD or left out, not refused by Postgres on
// every delivery (which would hold up every later run of the workflow).
func TestAKeyWithBytesTextCannotHoldIsStoredAndItsRunGoesOn(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	long := strings.Repeat("x", run.MaxKeyLen-1) + "é"
	ids := b.keyedRuns(t, `
name: odd-keys
concurrency_key: trigger.body.customer
steps:
  - { name: a, type: transform, with: { output: "1" } }
`, `{"customer":"a\u0000b"}`, fmt.Sprintf(`{"customer":%q}`, long))
	want := []string{"a\uFFFDb", strings.Repeat("x", run.MaxKeyLen-1)}
	for i, id := range ids {
		if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
			t.Fatalf("run %d: Execute = %v", i, err)
		}
		r, _ := b.get(t, id)
		key, _ := b.keyState(t, id)
		if r.Status != run.Succeeded || key == nil || *key != want[i] {
			t.Errorf("run %d = %s (%s) with key %q, want succeeded with key %q", i, r.Status, deref(r.Error), deref(key), want[i])
		}
	}
}

// A re-driven run arrives anew for its concurrency key: a later run of the
// key that has not finished goes first, rather than running beside it.
func TestARedrivenRunWaitsForLaterRunsOfItsKeyThatHaveNotFinished(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	ids := b.keyedRuns(t, keyedWorkflow, `{"customer":"c1"}`, `{"customer":"c1"}`)
	first, later := ids[0], ids[1]
	ctx := context.Background()
	if err := e.Execute(ctx, b.tenant, first, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	b.exec(t, `UPDATE runs SET status = 'failed', error = 'it failed' WHERE id = $1`, first)
	if err := run.Redrive(ctx, b.db.DB, nopReviver{}, b.tenant, first, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Execute(ctx, b.tenant, first, run.Attempt{}); !errors.Is(err, run.ErrBusy) {
		t.Fatalf("the re-driven run = %v, want ErrBusy while the later run of its key is unfinished", err)
	}
	if err := e.Execute(ctx, b.tenant, later, run.Attempt{}); err != nil {
		t.Fatalf("the later run = %v", err)
	}
	if err := e.Execute(ctx, b.tenant, first, run.Attempt{}); err != nil {
		t.Fatalf("the re-driven run after the later one = %v", err)
	}
	if r, _ := b.get(t, first); r.Status != run.Succeeded {
		t.Errorf("the re-driven run = %s, want succeeded", r.Status)
	}
}
