package run_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"aias/internal/artifact"
	"aias/internal/telemetry"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/step"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/workflow"
)

type bundle struct {
	db     *pgtest.DB
	tenant uuid.UUID
	calls  *calls
	srv    *httptest.Server
}

// calls counts requests per path; a path in block waits for its channel.
type calls struct {
	mu      sync.Mutex
	n       map[string]int
	block   map[string]chan struct{}
	entered chan string
}

func (c *calls) count(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[p]
}

func setup(t *testing.T) (*run.Executor, bundle) {
	t.Helper()
	db := pgtest.New(t)
	s, err := tenant.Create(context.Background(), db.DB, "run@example.com", "run")
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{n: map[string]int{}, block: map[string]chan struct{}{}, entered: make(chan string, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.URL.Path]++
		first := c.n[r.URL.Path] == 1
		ch := c.block[r.URL.Path]
		c.mu.Unlock()
		c.entered <- r.URL.Path
		if ch != nil && first {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"n":%d}`, c.count(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	e := &run.Executor{DB: db.DB, Deps: step.Deps{HTTPClient: srv.Client()}, Backoff: run.Backoff{Base: time.Millisecond, Max: time.Millisecond}}
	return e, bundle{db: db, tenant: s.TenantID, calls: c, srv: srv}
}

// newRun stores a workflow and a queued run of it.
func (b bundle) newRun(t *testing.T, yaml string) uuid.UUID {
	t.Helper()
	return b.newRunOf(t, yaml, run.TriggerManual, time.Now())
}

// newRunOf is newRun with the trigger's kind and received_at.
func (b bundle) newRunOf(t *testing.T, yaml, kind string, receivedAt time.Time) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	def, err := workflow.Decode([]byte(yaml), "application/yaml")
	if err == nil {
		err = def.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	err = b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		w, err := workflow.Create(ctx, q, b.tenant, def)
		if err != nil {
			return err
		}
		id, _, err = run.Insert(ctx, q, run.New{TenantID: b.tenant, WorkflowID: w.ID, WorkflowVersion: 1,
			TriggerKind: kind, MaxAttempts: def.EffectiveMaxAttempts(), Body: []byte(`{"total":5}`),
			ContentType: "application/json", ReceivedAt: receivedAt})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b bundle) get(t *testing.T, id uuid.UUID) (run.Run, []run.StepRecord) {
	t.Helper()
	ctx := context.Background()
	var r run.Run
	var steps []run.StepRecord
	err := b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) (err error) {
		if r, err = run.Get(ctx, q, id); err != nil {
			return err
		}
		steps, err = run.Steps(ctx, q, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, steps
}

func (b bundle) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	err := b.db.InTenantTx(ctx, b.tenant, func(tx postgres.Querier) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestARetryAfterARecordedConditionStopRunsNothingMore(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: stop
steps:
  - { name: gate, type: condition, with: { if: "trigger.body.total < 100" } }
  - { name: notify, type: http, with: { url: "%s/notify" } }
`, b.srv.URL))
	// The condition's stop was committed (the expression holds now: only
	// the record stops the run), then the worker died before finishing it.
	b.died(t, id)
	b.exec(t, `INSERT INTO run_steps (tenant_id, run_id, position, name, type, status, attempt, output)
	           VALUES ($1, $2, 0, 'gate', 'condition', 'succeeded', 1, '{"passed": false}')`, b.tenant, id)

	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Succeeded || b.calls.count("/notify") != 0 {
		t.Errorf("run = %s with %d notify calls, want succeeded with none", r.Status, b.calls.count("/notify"))
	}
	if len(steps) != 2 || steps[1].Status != run.StepSkipped {
		t.Errorf("steps = %+v, want notify skipped", steps)
	}
}

func TestAStaleDeliveryIsFencedOutByTheNewerOne(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	release := make(chan struct{})
	b.calls.block["/b"] = release
	id := b.newRun(t, fmt.Sprintf(`
name: fence
steps:
  - { name: a, type: http, with: { url: "%[1]s/a" } }
  - { name: b, type: http, with: { url: "%[1]s/b" } }
  - { name: c, type: transform, with: { output: "steps.b.output.body.n" } }
`, b.srv.URL))
	ctx := context.Background()
	stale := make(chan error, 1)
	go func() { stale <- e.Execute(ctx, b.tenant, id, run.Attempt{}) }()
	for p := ""; p != "/b"; p = <-b.calls.entered {
	}
	// A second delivery of the same run (a lost lease, a redelivery) takes over.
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("newer delivery: %v", err)
	}
	close(release)
	if err := <-stale; err != nil {
		t.Errorf("stale delivery = %v, want nil (it steps aside)", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Succeeded || r.Attempt != 2 {
		t.Fatalf("run = %s attempt %d (%v), want succeeded by attempt 2", r.Status, r.Attempt, deref(r.Error))
	}
	if b.calls.count("/a") != 1 {
		t.Errorf("step a ran %d times, want once (its record was committed)", b.calls.count("/a"))
	}
	if got := string(steps[2].Output); got != "2" || steps[1].Attempt != 2 {
		t.Errorf("step c output %s, step b attempt %d; want the newer delivery's consistent record (2, 2)", got, steps[1].Attempt)
	}
}

func TestAnInterruptedDeliveryGivesItsAttemptBack(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	b.calls.block["/slow"] = make(chan struct{}) // never released
	id := b.newRun(t, fmt.Sprintf(`
name: interrupted
max_attempts: 2
steps:
  - { name: slow, type: http, with: { url: "%s/slow", timeout: 30s } }
`, b.srv.URL))
	ctx, cancel := context.WithCancel(logging.With(context.Background(), logging.Nop()))
	done := make(chan error, 1)
	go func() { done <- e.Execute(ctx, b.tenant, id, run.Attempt{}) }()
	<-b.calls.entered
	cancel() // shutdown deadline passed
	if err := <-done; err == nil {
		t.Fatal("interrupted Execute = nil, want an error so the queue retries")
	}
	r, _ := b.get(t, id)
	if r.Status != run.Running || r.Attempt != 0 {
		t.Errorf("after the interruption run = %s attempt %d, want running with the attempt given back (0)", r.Status, r.Attempt)
	}
}

func TestBuryMarksAnUnfinishedRunDead(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, `{"name":"x","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`)
	err := e.Bury(context.Background(), b.tenant, id, "the worker panicked on every attempt")
	if err == nil {
		t.Fatal("Bury = nil, want ErrExhausted so the task is archived")
	}
	r, _ := b.get(t, id)
	if r.Status != run.Dead || r.Error == nil {
		t.Errorf("run = %s (%v), want dead with the reason", r.Status, r.Error)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestATaskNamingTheWrongTenantDoesNothing(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: forged
steps:
  - { name: call, type: http, with: { url: "%s/call" } }
`, b.srv.URL))
	other, err := tenant.Create(context.Background(), b.db.DB, "other@example.com", "other")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Execute(context.Background(), other.TenantID, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute with a forged tenant = %v, want nil (dropped)", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Queued || r.Attempt != 0 || len(steps) != 0 || b.calls.count("/call") != 0 {
		t.Errorf("after a forged task: run %s attempt %d, %d steps, %d calls; want it untouched", r.Status, r.Attempt, len(steps), b.calls.count("/call"))
	}
}

// A step's commit records the run's progress (updated_at, which the sweep
// reads) only when the last record of it is over two seconds old: a run of
// quick steps does not rewrite its row once per step.
func TestAStepCommitTouchesTheRunOnlyWhenItsProgressIsStale(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	id := b.newRun(t, "name: progress\nsteps:\n  - { name: a, type: transform, with: { output: \"1\" } }\n")
	write := func(pos int) {
		t.Helper()
		b.exec(t, `SELECT aias_write_step($1, $2, 1, true, $3, 'a', 'transform', 'succeeded', NULL, NULL, '[]', now(), now(), 0, false)`,
			b.tenant, id, pos)
	}
	b.exec(t, `UPDATE runs SET status = 'running', attempt = 1, updated_at = now() - interval '1 second' WHERE id = $1`, id)
	fresh, _ := b.get(t, id)
	write(0)
	if r, _ := b.get(t, id); !r.UpdatedAt.Equal(fresh.UpdatedAt) {
		t.Errorf("progress 1 s old moved from %s to %s by a step commit, want it left", fresh.UpdatedAt, r.UpdatedAt)
	}
	b.exec(t, `UPDATE runs SET updated_at = now() - interval '10 seconds' WHERE id = $1`, id)
	stale, _ := b.get(t, id)
	write(1)
	if r, _ := b.get(t, id); !r.UpdatedAt.After(stale.UpdatedAt.Add(5 * time.Second)) {
		t.Errorf("progress 10 s old = %s after a step commit (was %s), want it recorded now", r.UpdatedAt, stale.UpdatedAt)
	}
	if _, steps := b.get(t, id); len(steps) != 2 {
		t.Errorf("step records = %d, want 2", len(steps))
	}
}

// A replay keeps the original delivery's received_at (the trigger's
// time, as steps see it); the end-to-end histogram counts from the run's
// own intake, or a replay of last week's delivery would land past every
// bucket.
func TestEndToEndDurationCountsFromTheRunsOwnIntake(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	e.Metrics = telemetry.New()
	ctx := context.Background()
	id := b.newRunOf(t, `{"name":"replayed","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`,
		run.TriggerReplay, time.Now().Add(-7*24*time.Hour))
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	var m dto.Metric
	if err := e.Metrics.RunEndToEnd.WithLabelValues("succeeded").(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	if h := m.GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() > 60 {
		t.Errorf("end-to-end observations %d, sum %.0f s; want 1 of under a minute", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestArtifactStepsStoreTheirArtifactsWithTheStep(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	ctx := context.Background()
	id := b.newRun(t, `
name: artifacts
steps:
  - { name: small, type: artifact, with: { name: small.txt, content_type: text/plain, content: "'hello'" } }
  - { name: large, type: artifact, with: { name: large.txt, content_type: text/plain, content: 'repeat("ab", 50000)' } }
`)
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Succeeded || len(steps) != 2 {
		t.Fatalf("run %s with %d steps, want succeeded with 2", r.Status, len(steps))
	}
	want := map[string]string{"small.txt": "hello", "large.txt": strings.Repeat("ab", 50000)}
	err := b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		arts, err := artifact.ListByRun(ctx, q, id)
		if err != nil {
			return err
		}
		if len(arts) != 2 {
			t.Fatalf("artifacts = %d, want 2", len(arts))
		}
		for _, a := range arts {
			var buf bytes.Buffer
			if err := artifact.WriteContent(ctx, q, a, &buf); err != nil {
				return err
			}
			if buf.String() != want[a.Name] || a.SizeBytes != int64(len(want[a.Name])) || a.SHA256 != artifact.Sum([]byte(want[a.Name])) {
				t.Errorf("artifact %s: %d bytes (size %d, sha %s), want %d bytes", a.Name, buf.Len(), a.SizeBytes, a.SHA256, len(want[a.Name]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The one-statement artifact commit is fenced like every step write: a
// run that is not this attempt's to write gets neither record nor artifact.
func TestAnArtifactStepsWriteIsRefusedForARunNoLongerRunning(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	id := b.newRun(t, `
name: fenced
steps: [ { name: a, type: artifact, with: { name: a.txt, content: "'x'" } } ]
`) // queued: no attempt is running it
	var running bool
	err := b.db.GetContext(ctx, &running, `SELECT running FROM aias_write_artifact_step($1, $2, 1, 0, 'a', 'artifact', 'succeeded',
		'{}', NULL, '[]', now(), now(), 1, gen_random_uuid(), 'a.txt', 'text/plain', 1, 'sum', 'x')`, b.tenant, id)
	if err != nil || running {
		t.Fatalf("aias_write_artifact_step on a queued run = %v, %v; want running false", running, err)
	}
	var rows int
	err = b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		return q.GetContext(ctx, &rows, `SELECT (SELECT count(*) FROM artifacts) + (SELECT count(*) FROM run_steps)`)
	})
	if err != nil || rows != 0 {
		t.Errorf("rows written for a run not running = %d (%v), want 0", rows, err)
	}
}

// While a step runs, the watch touches the run every Heartbeat (the sweep
// takes a run untouched for long for a crashed worker's), and stops the
// step as soon as a touch is refused: the run was canceled.
func TestALongStepKeepsItsRunAliveUntilTheRunIsCanceled(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	e.Heartbeat = 50 * time.Millisecond
	b.calls.block["/slow"] = make(chan struct{}) // released only by the step's own cancellation
	id := b.newRun(t, fmt.Sprintf(`
name: long
steps:
  - { name: slow, type: http, with: { url: "%s/slow", timeout: 30s } }
`, b.srv.URL))
	ctx := logging.With(context.Background(), logging.Nop())
	done := make(chan error, 1)
	go func() { done <- e.Execute(ctx, b.tenant, id, run.Attempt{}) }()
	<-b.calls.entered
	started, _ := b.get(t, id)
	time.Sleep(400 * time.Millisecond)
	touched, _ := b.get(t, id)
	if !touched.UpdatedAt.After(started.UpdatedAt) {
		t.Errorf("updated_at %s after 400 ms of a step, want later than %s (the heartbeat)", touched.UpdatedAt, started.UpdatedAt)
	}
	err := b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		_, err := run.Cancel(ctx, q, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Execute of a run canceled mid-step = %v, want nil (nothing to retry)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the step still ran 5 s after its run was canceled")
	}
	if r, _ := b.get(t, id); r.Status != run.Canceled {
		t.Errorf("run = %s, want canceled", r.Status)
	}
}

func TestADeliveryRefusedTheClaimLeavesTheRunningDeliveryItsSlot(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	rdb := redistest.Client(t, redistest.New(t))
	e.Slots = &entitlement.Slots{Redis: rdb}
	e.Plans = &entitlement.Checker{Plans: plan.Default()}
	e.ReclaimAfter = time.Minute
	release := make(chan struct{})
	b.calls.block["/slow"] = release
	id := b.newRun(t, fmt.Sprintf(`
name: slotted
steps:
  - { name: slow, type: http, with: { url: "%s/slow" } }
`, b.srv.URL))
	ctx := context.Background()
	slots := func() int64 { return rdb.ZCard(ctx, "aias:slots:"+b.tenant.String()).Val() }
	live := make(chan error, 1)
	go func() { live <- e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "first"}) }()
	<-b.calls.entered
	// The same run delivered again (a recovered task, a reclaim) while the
	// first delivery is alive: its claim is refused.
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "second"}); err != nil {
		t.Fatalf("second delivery = %v, want nil (it steps aside)", err)
	}
	if n := slots(); n != 1 {
		t.Errorf("slots held while the first delivery runs = %d, want 1 (the refused delivery must not free it)", n)
	}
	close(release)
	if err := <-live; err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	if n := slots(); n != 0 {
		t.Errorf("slots held after the run finished = %d, want 0", n)
	}
}

// An error may quote trigger data (a regular expression's, say): a NUL in
// it is stored as U+FFFD, so the run still ends.
func TestAnErrorQuotingANulStillEndsTheRun(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, `
name: nul-error
steps:
  - { name: a, type: transform, with: { output: "'x' matches ('(' + string(trigger.body.p))" } }
`)
	b.exec(t, `UPDATE runs SET body = convert_to('{"p":"\u0000"}', 'UTF8') WHERE id = $1`, id)
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v, want the run failed and the task done", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Failed || !strings.Contains(deref(r.Error), "\uFFFD") {
		t.Fatalf("run = %s (%q), want failed with the NUL shown as U+FFFD", r.Status, deref(r.Error))
	}
	if len(steps) != 1 || steps[0].Error == nil || !strings.Contains(*steps[0].Error, "\uFFFD") {
		t.Errorf("step records %+v, want the failed step with its error stored", steps)
	}
}

// The steps of a switch branch that did not run read as null after the
// switch, as docs/workflows.md says: `steps.x.output ?? fallback` works.
func TestStepsOfABranchThatDidNotRunReadAsNullAfterTheSwitch(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, `
name: branches
steps:
  - name: size
    type: switch
    cases:
      - when: "1 > 2"
        steps:
          - { name: big, type: transform, with: { output: "'big'" } }
          - name: inner
            type: switch
            cases: [{ when: "true", steps: [{ name: nested, type: transform, with: { output: "1" } }] }]
    default:
      - { name: small, type: transform, with: { output: "'small'" } }
  - { name: after, type: transform, with: { output: "[steps.big.output ?? 'none', steps.nested.output ?? 'none', steps.small.output]" } }
`)
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Succeeded {
		t.Fatalf("run = %s (%s), want succeeded", r.Status, deref(r.Error))
	}
	if got := strings.ReplaceAll(string(steps[len(steps)-1].Output), " ", ""); got != `["none","none","small"]` {
		t.Errorf("after's output = %s, want [\"none\",\"none\",\"small\"]", got)
	}
}

func TestAForeachBodyReadsItsOwnForeachsItems(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, `
name: shares
steps:
  - name: lines
    type: foreach
    with: { items: "[1, 3]" }
    steps:
      - { name: share, type: transform, with: { output: "item / len(steps.lines.output.items)" } }
  - { name: after, type: transform, with: { output: "map(steps.lines.output.results, .share)" } }
`)
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, steps := b.get(t, id)
	if r.Status != run.Succeeded {
		t.Fatalf("run = %s (%s), want succeeded", r.Status, deref(r.Error))
	}
	if got := strings.ReplaceAll(string(steps[len(steps)-1].Output), " ", ""); got != `[0.5,1.5]` {
		t.Errorf("after's output = %s, want [0.5,1.5]", got)
	}
}

// A workflow's timeout counts from the re-drive for a re-driven run: from
// its first start, a run that failed a day ago would fail again at once.
func TestARedrivenRunsTimeoutCountsFromTheRedrive(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: timed
timeout: 1h
steps: [ { name: call, type: http, with: { url: "%s/call" } } ]
`, b.srv.URL))
	b.exec(t, `UPDATE runs SET status = 'failed', attempt = 1, error = 'it failed',
	                             started_at = now() - interval '1 day', finished_at = now() - interval '1 day' WHERE id = $1`, id)
	ctx := context.Background()
	if err := run.Redrive(ctx, b.db.DB, nopReviver{}, b.tenant, id, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute after the redrive = %v", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Succeeded || b.calls.count("/call") != 1 {
		t.Errorf("re-driven run = %s (%s) with %d calls, want succeeded with one", r.Status, deref(r.Error), b.calls.count("/call"))
	}
}

// Re-driven on a version whose step at the failed step's place is another,
// the new step starts afresh: it inherits neither the old one's name nor
// its failures.
func TestARedriveOnTheCurrentVersionGivesANewStepItsOwnRecord(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: versions
max_attempts: 1
steps:
  - { name: a, type: transform, with: { output: "1" } }
  - { name: b, type: http, with: { url: "%s/b", expect: [418] } }
`, b.srv.URL))
	ctx := context.Background()
	_ = e.Execute(ctx, b.tenant, id, run.Attempt{})
	r, steps := b.get(t, id)
	if r.Status != run.Failed || len(steps) != 2 || steps[1].Tries != 1 {
		t.Fatalf("run = %s with %d steps, want failed at step b", r.Status, len(steps))
	}
	def, err := workflow.Decode([]byte(`
name: versions
max_attempts: 1
steps:
  - { name: a, type: transform, with: { output: "1" } }
  - { name: fresh, type: transform, with: { output: "2" } }
`), "application/yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		_, err := workflow.Update(ctx, q, b.tenant, r.WorkflowID, def)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Redrive(ctx, b.db.DB, nopReviver{}, b.tenant, id, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute after the redrive = %v", err)
	}
	r, steps = b.get(t, id)
	if r.Status != run.Succeeded || len(steps) != 2 {
		t.Fatalf("re-driven run = %s (%s) with %d steps, want succeeded with 2", r.Status, deref(r.Error), len(steps))
	}
	if s := steps[1]; s.Name != "fresh" || s.Type != "transform" || s.Tries != 0 || string(s.Output) != "2" {
		t.Errorf("step 1 = %s %s tries %d output %s, want fresh transform, no failures, output 2", s.Name, s.Type, s.Tries, s.Output)
	}
}

// A queue may hand one task out twice (a failover that lost its dequeue):
// the second delivery does not take the run while the first one's
// heartbeat is fresh, so the step in flight does not run twice at once.
func TestASecondDeliveryOfTheSameTaskDoesNotTakeARunningRun(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	e.ReclaimAfter = time.Minute
	release := make(chan struct{})
	b.calls.block["/slow"] = release
	id := b.newRun(t, fmt.Sprintf(`
name: twice
steps: [ { name: slow, type: http, with: { url: "%s/slow" } } ]
`, b.srv.URL))
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "task-1"}) }()
	<-b.calls.entered
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "task-1"}); err != nil {
		t.Fatalf("second delivery = %v, want nil (it steps aside)", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first delivery = %v", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Succeeded || r.Attempt != 1 || b.calls.count("/slow") != 1 {
		t.Errorf("run = %s attempt %d with %d calls, want succeeded by attempt 1 with one call", r.Status, r.Attempt, b.calls.count("/slow"))
	}
}

// A delivery cut short by a shutdown hands the run back: the task's retry
// claims it at once, without waiting for the heartbeat to go stale.
func TestAnInterruptedDeliverysRetryClaimsTheRunAtOnce(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	e.ReclaimAfter = time.Hour
	b.calls.block["/slow"] = make(chan struct{}) // the first call never answers
	id := b.newRun(t, fmt.Sprintf(`
name: handed-back
steps: [ { name: slow, type: http, with: { url: "%s/slow", timeout: 30s } } ]
`, b.srv.URL))
	ctx, cancel := context.WithCancel(logging.With(context.Background(), logging.Nop()))
	done := make(chan error, 1)
	go func() { done <- e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "task-1"}) }()
	<-b.calls.entered
	cancel() // shutdown deadline passed
	if err := <-done; err == nil {
		t.Fatal("interrupted Execute = nil, want an error so the queue retries")
	}
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{TaskID: "task-1"}); err != nil {
		t.Fatalf("the retry = %v", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Succeeded || r.Attempt != 1 {
		t.Errorf("run = %s attempt %d, want succeeded by attempt 1 (the interrupted one given back)", r.Status, r.Attempt)
	}
}

// stuckReviver is a queue that does not answer until released.
type stuckReviver struct{ release chan struct{} }

func (s stuckReviver) Revive(context.Context, uuid.UUID, uuid.UUID) error {
	<-s.release
	return nil
}

// A re-drive answers once the run is queued in Postgres, whatever the
// queue does: a frozen Redis must not hold the request for its timeouts.
func TestARedriveDoesNotWaitForAStuckQueue(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	id := b.newRun(t, `{"name":"x","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`)
	b.exec(t, `UPDATE runs SET status = 'failed', error = 'it failed' WHERE id = $1`, id)
	q := stuckReviver{release: make(chan struct{})}
	defer close(q.release)
	done := make(chan error, 1)
	go func() { done <- run.Redrive(context.Background(), b.db.DB, q, b.tenant, id, false) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Redrive still waits for the queue")
	}
	if r, _ := b.get(t, id); r.Status != run.Queued {
		t.Errorf("re-driven run = %s, want queued", r.Status)
	}
}

// A delivery that fails for want of Postgres after claiming the run lets go
// of it, so that the queue's retry of the same task claims it at once
// rather than stepping aside until the heartbeat goes stale.
func TestTheRetryOfADeliveryThatCouldNotAdvanceClaimsTheRunAtOnce(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	e.ReclaimAfter = time.Hour
	id := b.newRun(t, `{"name":"x","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`)
	ctx := context.Background()
	b.db.AsOwner(t, `REVOKE SELECT ON workflow_versions FROM aias_app`) // the claim succeeds, reading the definition fails
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "task-1"}); err == nil {
		t.Fatal("Execute without the definition = nil, want an error so the queue retries")
	}
	b.db.AsOwner(t, `GRANT SELECT ON workflow_versions TO aias_app`)
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{TaskID: "task-1"}); err != nil {
		t.Fatalf("the retry = %v", err)
	}
	if r, _ := b.get(t, id); r.Status != run.Succeeded {
		t.Errorf("run = %s, want succeeded by the retry", r.Status)
	}
}

// A re-driven run resumes after its last succeeded step: the claim reads it
// as resumed from its step records, though the re-drive reset started_at.
func TestARedrivenRunResumesAfterItsSucceededSteps(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	id := b.newRun(t, fmt.Sprintf(`
name: resumes
max_attempts: 1
steps:
  - { name: first, type: http, with: { url: "%[1]s/first" } }
  - { name: second, type: http, with: { url: "%[1]s/second", expect: [418] } }
`, b.srv.URL))
	ctx := context.Background()
	_ = e.Execute(ctx, b.tenant, id, run.Attempt{})
	if r, _ := b.get(t, id); r.Status != run.Failed {
		t.Fatalf("run = %s, want failed at its second step", r.Status)
	}
	if err := run.Redrive(ctx, b.db.DB, nopReviver{}, b.tenant, id, false); err != nil {
		t.Fatal(err)
	}
	_ = e.Execute(ctx, b.tenant, id, run.Attempt{})
	if first, second := b.calls.count("/first"), b.calls.count("/second"); first != 1 || second != 2 {
		t.Errorf("calls: first %d, second %d; want 1 and 2 (the re-drive resumes at the failed step)", first, second)
	}
}

// deadlineTransport records how long each request had left when sent.
type deadlineTransport struct {
	next http.RoundTripper
	left chan time.Duration
}

func (d deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if dl, ok := r.Context().Deadline(); ok {
		d.left <- time.Until(dl)
	}
	return d.next.RoundTrip(r)
}

// An http step without a request timeout of its own is given the step's
// timeout (45 s here), not the 10 s default.
func TestAnHTTPStepsRequestTakesTheStepsTimeout(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	left := make(chan time.Duration, 1)
	client := *b.srv.Client()
	client.Transport = deadlineTransport{next: client.Transport, left: left}
	e.Deps.HTTPClient = &client
	id := b.newRun(t, fmt.Sprintf(`
name: patient
steps: [ { name: call, type: http, timeout: 45s, with: { url: "%s/call" } } ]
`, b.srv.URL))
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	if d := <-left; d <= step.DefaultHTTPTimeout {
		t.Errorf("the request had %s left, want the step's 45s (more than the %s default)", d, step.DefaultHTTPTimeout)
	}
}
