package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/config"
	"aias/internal/postgres"
	"aias/internal/testutil/redistest"
	"aias/pkg/aias"
)

// recorder is a local target that counts calls per path and can hold one
// path until released (or until the caller gives up).
type recorder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	calls   map[string]int
	bodies  map[string][]string
	hold    string        // path held until release is closed
	release chan struct{} // closed to let held calls answer
	entered chan string   // each held call, as it arrives
	aborted chan string   // each held call whose client went away
}

func newRecorder(t *testing.T, hold string) *recorder {
	t.Helper()
	rec := &recorder{calls: map[string]int{}, bodies: map[string][]string{}, hold: hold,
		release: make(chan struct{}), entered: make(chan string, 100), aborted: make(chan string, 100)}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.calls[r.URL.Path]++
		rec.bodies[r.URL.Path] = append(rec.bodies[r.URL.Path], string(b))
		rec.mu.Unlock()
		if r.URL.Path == rec.hold {
			rec.entered <- r.URL.Path
			select {
			case <-rec.release:
			case <-r.Context().Done():
				rec.aborted <- r.URL.Path
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(rec.srv.Close)
	t.Cleanup(func() {
		select {
		case <-rec.release:
		default:
			close(rec.release)
		}
	})
	return rec
}

func (r *recorder) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[path]
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// A run whose worker dies in the middle of step 3 of 5 resumes on the next
// worker after step 2: steps 1 and 2 are not executed again, and steps 3, 4
// and 5 each execute once after the retry.
func TestARunKilledInStepThreeResumesWithoutRepeatingStepsOneAndTwo(t *testing.T) {
	t.Parallel()
	target := newRecorder(t, "/3")
	first := start(t, options{env: map[string]string{"AIAS_WORKER_SHUTDOWN_TIMEOUT": "200ms"}})
	acme := first.signup("acme")
	var steps strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&steps, "  - { name: s%d, type: http, with: { method: POST, url: \"%s/%d\", timeout: 30s } }\n", i, target.srv.URL, i)
	}
	url := first.createEndpoint(acme.Key, first.createWorkflow(acme.Key, "name: five\nsteps:\n"+steps.String()))
	_, id := first.post(url, `{}`)
	waitFor(t, target.entered, "step 3 to start")
	first.stop() // the worker's context is canceled with step 3 in flight
	waitFor(t, target.aborted, "step 3's request to be abandoned")
	close(target.release)

	second := start(t, options{db: first.db, redisURL: first.redisURL, role: config.RoleWorker | config.RoleScheduler | config.RoleIngress})
	if r := second.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Fatalf("run = %s (%v), want succeeded", r.Status, r.Error)
	}
	for path, want := range map[string]int{"/1": 1, "/2": 1, "/3": 2, "/4": 1, "/5": 1} {
		if got := target.count(path); got != want {
			t.Errorf("calls to %s = %d, want %d (step 3: the abandoned call and one after the retry)", path, got, want)
		}
	}
	var keys []string
	err := second.db.InTenantTx(context.Background(), uuid.MustParse(acme.ID), func(q postgres.Querier) error {
		return q.SelectContext(context.Background(), &keys, `SELECT name FROM run_steps WHERE run_id = $1 AND status = 'succeeded' ORDER BY position`, id)
	})
	if err != nil || strings.Join(keys, ",") != "s1,s2,s3,s4,s5" {
		t.Fatalf("succeeded steps = %v (%v)", keys, err)
	}
}

// A delay of 2 s survives its worker stopping and the queue being flushed:
// the time lives in Postgres, the sweep enqueues the run again, and it
// finishes after its time, not before.
func TestADelaySurvivesAWorkerRestartAndARedisFlush(t *testing.T) {
	t.Parallel()
	target := newRecorder(t, "")
	first := start(t, options{})
	acme := first.signup("acme")
	url := first.createEndpoint(acme.Key, first.createWorkflow(acme.Key, fmt.Sprintf(`
name: later
steps:
  - { name: before, type: http, with: { url: "%[1]s/before" } }
  - { name: wait, type: delay, with: { for: 2s } }
  - { name: after, type: http, with: { url: "%[1]s/after" } }
`, target.srv.URL)))
	posted := time.Now()
	_, id := first.post(url, `{}`)
	first.waitRun(acme.Key, id, "delayed")
	first.stop()

	rdb := redistest.Client(t, first.redisURL)
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}

	second := start(t, options{db: first.db, redisURL: first.redisURL})
	r := second.waitRun(acme.Key, id, "succeeded", "failed", "dead")
	if r.Status != "succeeded" {
		t.Fatalf("run = %s (%v), want succeeded", r.Status, r.Error)
	}
	if waited := r.FinishedAt.Sub(posted); waited < 2*time.Second {
		t.Errorf("run finished %s after intake, before its 2s delay", waited)
	}
	if b, a := target.count("/before"), target.count("/after"); b != 1 || a != 1 {
		t.Errorf("calls before/after the delay = %d/%d, want 1/1", b, a)
	}
}

// Canceling a running run cancels its in-flight step's context within a
// heartbeat; the step after it never runs.
func TestCancelStopsTheInFlightStepOfARunningRun(t *testing.T) {
	t.Parallel()
	target := newRecorder(t, "/slow")
	s := start(t, options{env: map[string]string{"AIAS_RUN_HEARTBEAT": "200ms"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: cancel-in-flight
steps:
  - { name: slow, type: http, with: { url: "%[1]s/slow", timeout: 60s } }
  - { name: next, type: http, with: { url: "%[1]s/next" } }
`, target.srv.URL)))
	_, id := s.post(url, `{}`)
	waitFor(t, target.entered, "the slow step to start")
	canceled := time.Now()
	if _, err := s.client(acme.Key).CancelRun(context.Background(), id); err != nil {
		t.Fatalf("CancelRun: %v", err)
	}
	waitFor(t, target.aborted, "the slow step's request to be canceled")
	t.Logf("in-flight step canceled %s after the cancel", time.Since(canceled).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	if n := target.count("/next"); n != 0 {
		t.Errorf("the step after a cancel ran %d times", n)
	}
	if r := s.run(acme.Key, id); r.Status != "canceled" {
		t.Errorf("run = %s, want canceled", r.Status)
	}
}

// A switch takes the first case that holds; a foreach runs its body once
// per item with item and index, and later steps read every iteration's
// outputs.
func TestSwitchTakesOneBranchAndForeachRunsItsBodyPerItem(t *testing.T) {
	t.Parallel()
	target := newRecorder(t, "")
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, fmt.Sprintf(`
name: route
steps:
  - name: kind
    type: switch
    cases:
      - when: trigger.body.kind == "refund"
        steps:
          - { name: refund, type: http, with: { method: POST, url: "%[1]s/refund" } }
      - when: trigger.body.kind == "order"
        steps:
          - { name: order, type: http, with: { method: POST, url: "%[1]s/order" } }
    default:
      - { name: other, type: http, with: { url: "%[1]s/other" } }
  - name: lines
    type: foreach
    with: { items: trigger.body.lines }
    steps:
      - { name: price, type: transform, with: { output: "item.qty * item.unit" } }
      - { name: post, type: http, with: { method: POST, url: "%[1]s/line/{{ index }}", body: "{'sku': item.sku, 'total': steps.price.output}" } }
  - { name: total, type: transform, with: { output: "sum(map(steps.lines.output.results, .price))" } }
`, target.srv.URL))
	url := s.createEndpoint(acme.Key, wf)
	_, id := s.post(url, `{"kind": "order", "lines": [{"sku": "a", "qty": 2, "unit": 5}, {"sku": "b", "qty": 1, "unit": 7}]}`)
	if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Fatalf("run = %s (%v)", r.Status, r.Error)
	}
	for path, want := range map[string]int{"/order": 1, "/refund": 0, "/other": 0, "/line/0": 1, "/line/1": 1} {
		if got := target.count(path); got != want {
			t.Errorf("calls to %s = %d, want %d", path, got, want)
		}
	}
	if b := target.bodies["/line/1"]; len(b) != 1 || !strings.Contains(b[0], `"total":7`) {
		t.Errorf("second line's body = %v", b)
	}
	steps, err := s.client(acme.Key).ListRunSteps(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range steps {
		names = append(names, st.Name)
	}
	if got := strings.Join(names, ","); got != "kind,order,lines,price,post,price,post,total" {
		t.Errorf("step records = %s", got)
	}
	if last := steps[len(steps)-1]; string(last.Output) != "17" {
		t.Errorf("total = %s, want 17", last.Output)
	}

	// No case holding runs default.
	_, id = s.post(url, `{"kind": "other", "lines": []}`)
	if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Fatalf("run = %s (%v)", r.Status, r.Error)
	}
	if n := target.count("/other"); n != 1 {
		t.Errorf("default branch ran %d times, want 1", n)
	}
}

// Runs with the same concurrency key run one at a time in arrival order;
// different keys run side by side.
func TestRunsWithTheSameKeyExecuteInArrivalOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string][]int{}
	inFlight := map[string]int{}
	overlap := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("key")
		var n int
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		mu.Lock()
		inFlight[key]++
		if inFlight[key] > 1 {
			overlap++
		}
		seen[key] = append(seen[key], n)
		mu.Unlock()
		time.Sleep(time.Duration(n%3) * 10 * time.Millisecond)
		mu.Lock()
		inFlight[key]--
		mu.Unlock()
	}))
	defer target.Close()
	s := start(t, options{env: map[string]string{"AIAS_WORKER_CONCURRENCY": "8",
		"AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "0", "AIAS_RATE_LIMIT_IP_PER_SECOND": "0"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: ordered
concurrency_key: trigger.body.customer
steps:
  - { name: first, type: http, with: { url: "%[1]s/a?key={{ trigger.body.customer }}&n={{ trigger.body.n }}" } }
  - { name: second, type: transform, with: { output: trigger.body.n } }
`, target.URL)))
	const runs, keys = 50, 5
	ids := make([]string, runs)
	for i := range runs {
		st, id := s.post(url, fmt.Sprintf(`{"customer": "c%d", "n": %d}`, i%keys, i))
		if st != 202 {
			t.Fatalf("delivery %d = %d", i, st)
		}
		ids[i] = id
	}
	for _, id := range ids {
		if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
			t.Fatalf("run %s = %s (%v)", id, r.Status, r.Error)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for k := range keys {
		got := seen[fmt.Sprintf("c%d", k)]
		if len(got) != runs/keys {
			t.Errorf("key c%d ran %d times, want %d", k, len(got), runs/keys)
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("key c%d ran out of arrival order: %v", k, got)
				break
			}
		}
	}
	if overlap > 0 {
		t.Errorf("runs of one key overlapped %d times", overlap)
	}
}

// A step's own retry policy bounds its attempts; a step that hangs past its
// timeout has its context canceled and is retried, then the run is dead.
func TestStepRetryPoliciesAndTimeouts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]int{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/hang":
			<-r.Context().Done()
		default:
			w.WriteHeader(500)
		}
	}))
	defer target.Close()
	count := func(p string) int { mu.Lock(); defer mu.Unlock(); return calls[p] }
	s := start(t, options{})
	acme := s.signup("acme")
	flaky := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: flaky
max_attempts: 10
steps:
  - name: poison
    type: http
    retry: { max_attempts: 3, backoff: 1s, max_backoff: 1s, jitter: false }
    with: { url: "%s/poison" }
`, target.URL)))
	hang := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: hang
retry: { max_attempts: 2, backoff: 1s }
steps:
  - { name: hang, type: http, timeout: 1s, with: { url: "%s/hang", timeout: 30s } }
`, target.URL)))
	_, flakyRun := s.post(flaky, `{}`)
	_, hangRun := s.post(hang, `{}`)

	r := s.waitRun(acme.Key, flakyRun, "dead", "failed", "succeeded")
	if r.Status != "dead" || count("/poison") != 3 {
		t.Errorf("poison step: run %s after %d calls, want dead after exactly 3", r.Status, count("/poison"))
	}
	r = s.waitRun(acme.Key, hangRun, "dead", "failed", "succeeded")
	if r.Status != "dead" || count("/hang") != 2 || r.Error == nil || !strings.Contains(*r.Error, "timed out after 1s") {
		t.Errorf("hanging step: run %s after %d calls (%v), want dead after 2 timed-out attempts", r.Status, count("/hang"), r.Error)
	}

	// One redrive runs the spent step exactly once more: a poison step is
	// not hammered with a whole new budget by every redrive.
	if _, err := s.client(acme.Key).RedriveRun(context.Background(), flakyRun, aias.RunControlRequest{}); err != nil {
		t.Fatalf("RedriveRun: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); count("/poison") < 4 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	r = s.waitRun(acme.Key, flakyRun, "dead", "failed", "succeeded")
	if n := count("/poison"); n != 4 || r.Status != "dead" {
		t.Errorf("after a redrive: %d calls in all and run %s, want 4 and dead again", n, r.Status)
	}
}

// A workflow's run timeout fails the run for good once it is exceeded.
func TestARunPastItsTimeoutFails(t *testing.T) {
	t.Parallel()
	target := newRecorder(t, "/slow")
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: bounded
timeout: 1s
steps:
  - { name: slow, type: http, with: { url: "%s/slow", timeout: 30s } }
`, target.srv.URL)))
	_, id := s.post(url, `{}`)
	r := s.waitRun(acme.Key, id, "failed", "dead", "succeeded")
	if r.Status != "failed" || r.Error == nil || !strings.Contains(*r.Error, "exceeded its timeout of 1s") {
		t.Fatalf("run = %s (%v), want failed by its timeout", r.Status, r.Error)
	}
	if n := target.count("/slow"); n != 1 {
		t.Errorf("slow step called %d times, want 1 (a run timeout is not retried)", n)
	}
}

// A plan without the foreach feature cannot save a foreach step; the answer
// names the step's path.
func TestAPlanWithoutForeachRefusesTheStep(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	cheap := s.signupOn("cheap", "free")
	r := s.do("POST", "/api/v1/workflows", cheap.Key, "application/yaml", `
name: loop
steps:
  - name: each
    type: foreach
    with: { items: trigger.body.lines }
    steps:
      - { name: note, type: log, with: { message: "line {{ index }}" } }
`)
	var p problem
	r.json(t, &p)
	if r.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Path != "steps[0].type" || !strings.Contains(p.Errors[0].Message, "free plan") {
		t.Fatalf("foreach on the free plan = %d %+v, want 400 at steps[0].type naming the plan", r.Status, p)
	}
}

// A delay's continuation comes from the queue itself, not from the sweep:
// with the sweep's grace far beyond the test, the run still finishes.
func TestADelayContinuesThroughTheQueueWithoutTheSweep(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_SWEEP_QUEUED_GRACE": "10m"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, `
name: short-wait
steps:
  - { name: wait, type: delay, with: { for: 1s } }
  - { name: done, type: transform, with: { output: steps.wait.output.until } }
`))
	_, id := s.post(url, `{}`)
	if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Fatalf("run = %s (%v), want succeeded", r.Status, r.Error)
	}
}
