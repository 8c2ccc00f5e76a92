package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// SIGTERM on each program: the ingress stops accepting and answers the
// request in flight, the worker finishes or hands back the run in flight
// within its deadline, the scheduler exits at once. Nothing accepted is lost.

func TestIngressSIGTERMDrainsTheRequestInFlight(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ingress, api := s.startIngress(map[string]string{"AIAS_SHUTDOWN_TIMEOUT": "10s"})
	tenantID, path := api.tenantWithEndpoint(`
name: drain
steps:
  - { name: echo, type: transform, with: { output: "trigger.body" } }
`)
	addr := strings.TrimPrefix(api.base, "http://")
	const body = `{"order":"in flight"}`
	req := openRequest(t, addr, path, len(body)) // the handler is reading the body now

	ingress.sigterm()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // the listener is closed: no new request is accepted
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the ingress still accepts connections 5s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ingress.exited() {
		t.Fatal("the ingress exited with a request in flight")
	}

	status, b := req.finish(t, body)
	var out struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(b, &out); status != http.StatusAccepted || err != nil || out.RunID == "" {
		t.Fatalf("in-flight webhook after SIGTERM = %d %s, want 202 with a run_id", status, b)
	}
	if err := ingress.wait(10 * time.Second); exitCode(err) != 0 {
		t.Fatalf("ingress exit = %v, want 0 after draining", err)
	}
	if st := s.runStatus(tenantID, out.RunID); st != "queued" {
		t.Fatalf("run %s of the drained request is %q in Postgres, want queued", out.RunID, st)
	}
}

// target records calls per path; a path in hold blocks until released (or
// until the caller gives up) on its first call.
type target struct {
	mu      sync.Mutex
	calls   map[string]int
	hold    string
	started chan struct{}
	release chan struct{}
	srv     *httptest.Server
}

func newTarget(t *testing.T, hold string) *target {
	tg := &target{calls: map[string]int{}, hold: hold, started: make(chan struct{}, 1), release: make(chan struct{})}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.calls[r.URL.Path]++
		first := tg.calls[r.URL.Path] == 1
		tg.mu.Unlock()
		if r.URL.Path == tg.hold && first {
			tg.started <- struct{}{}
			select {
			case <-tg.release:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) count(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.calls[path]
}

func (tg *target) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-tg.started:
	case <-time.After(30 * time.Second):
		t.Fatalf("the step calling %s never started", tg.hold)
	}
}

func threeSteps(base string) string {
	return fmt.Sprintf(`
name: slow
steps:
  - { name: quick, type: http, with: { method: POST, url: "%[1]s/quick" } }
  - { name: slow,  type: http, with: { method: POST, url: "%[1]s/slow", timeout: 30s } }
  - { name: last,  type: http, with: { method: POST, url: "%[1]s/last" } }
`, base)
}

func TestWorkerSIGTERMFinishesTheRunInFlight(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	_, api := s.startIngress(nil)
	tg := newTarget(t, "/slow")
	tenantID, path := api.tenantWithEndpoint(threeSteps(tg.srv.URL))
	worker := start(t, "aias-worker", s.env(map[string]string{"AIAS_WORKER_SHUTDOWN_TIMEOUT": "20s"}))
	runID := api.post(path, `{}`)
	tg.waitStarted(t)

	worker.sigterm()
	select {
	case <-worker.done:
		t.Fatalf("the worker exited (%v) before its in-flight step finished", worker.err)
	case <-time.After(300 * time.Millisecond): // a moment in which it must not exit
	}
	close(tg.release)
	if err := worker.wait(20 * time.Second); exitCode(err) != 0 {
		t.Fatalf("worker exit = %v, want 0", err)
	}
	if st := s.runStatus(tenantID, runID); st != "succeeded" {
		t.Fatalf("run finished during the drain is %q, want succeeded", st)
	}
	for p, want := range map[string]int{"/quick": 1, "/slow": 1, "/last": 1} {
		if got := tg.count(p); got != want {
			t.Errorf("calls to %s = %d, want %d", p, got, want)
		}
	}
}

func TestWorkerSIGTERMHandsBackTheRunInFlightAndTheNextWorkerCompletesIt(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	_, api := s.startIngress(nil)
	tg := newTarget(t, "/slow")
	tenantID, path := api.tenantWithEndpoint(threeSteps(tg.srv.URL))
	const drain = 500 * time.Millisecond
	first := start(t, "aias-worker", s.env(map[string]string{"AIAS_WORKER_SHUTDOWN_TIMEOUT": drain.String()}))
	runID := api.post(path, `{}`)
	tg.waitStarted(t) // the slow step outlives the drain deadline

	sent := first.sigterm()
	if err := first.wait(drain + 10*time.Second); exitCode(err) != 0 {
		t.Fatalf("worker exit = %v, want 0", err)
	}
	if took := first.ended.Sub(sent); took > drain+5*time.Second {
		t.Errorf("worker took %s to exit after SIGTERM, want about its %s drain deadline", took, drain)
	}
	if st := s.runStatus(tenantID, runID); st != "running" {
		t.Fatalf("run after the drain deadline is %q, want running (handed back, not failed)", st)
	}

	start(t, "aias-worker", s.env(nil))
	if st := s.waitRun(tenantID, runID, "succeeded", "failed", "dead"); st != "succeeded" {
		t.Fatalf("run = %s, want succeeded on the next worker", st)
	}
	for p, want := range map[string]int{"/quick": 1, "/slow": 2, "/last": 1} {
		if got := tg.count(p); got != want {
			t.Errorf("calls to %s = %d, want %d (finished steps are not repeated)", p, got, want)
		}
	}
}

func TestSchedulerSIGTERMExitsPromptlyAndReleasesItsLease(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	env := s.env(map[string]string{"AIAS_SWEEP_INTERVAL": "100ms"})
	sched := start(t, "aias-scheduler", env)
	sched.waitReady("http://" + env["AIAS_METRICS_ADDR"])
	sched.waitLog("scheduler started")
	deadline := time.Now().Add(20 * time.Second)
	for s.leases() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler never took the cron lease")
		}
		time.Sleep(20 * time.Millisecond)
	}

	sent := sched.sigterm()
	if err := sched.wait(5 * time.Second); exitCode(err) != 0 {
		t.Fatalf("scheduler exit = %v, want 0", err)
	}
	if took := sched.ended.Sub(sent); took > 2*time.Second {
		t.Errorf("scheduler took %s to exit after SIGTERM, want under 2s", took)
	}
	if !strings.Contains(sched.out.String(), "scheduler stopped") {
		t.Error("the scheduler did not log that it stopped")
	}
	if n := s.leases(); n != 0 {
		t.Errorf("%d leases held after the scheduler exited, want 0: another replica would wait for it to expire", n)
	}
}

// leases counts the scheduler leases held.
func (s *stack) leases() int {
	s.t.Helper()
	var n int
	if err := s.db.GetContext(context.Background(), &n, `SELECT count(*) FROM scheduler_leases`); err != nil {
		s.t.Fatalf("count leases: %v", err)
	}
	return n
}
