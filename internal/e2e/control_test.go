package e2e_test

import (
	"aias/pkg/aias"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRedriveResumesADeadRunAndReplayMakesALinkedNewOne(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newCounter(t, map[string][]int{"/flaky": {500}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, httpWorkflow(target.srv.URL, 1)))
	_, id := s.post(url, `{}`)
	if r := s.waitRun(acme.Key, id, "dead", "failed", "succeeded"); r.Status != "dead" {
		t.Fatalf("run = %s, want dead after its only attempt", r.Status)
	}
	ctx, api := context.Background(), s.client(acme.Key)
	if _, err := api.RedriveRun(ctx, id, aias.RunControlRequest{}); err != nil {
		t.Fatalf("RedriveRun: %v", err)
	}
	if r := s.waitRun(acme.Key, id, "succeeded", "dead", "failed"); r.Status != "succeeded" {
		t.Fatalf("re-driven run = %s (%v), want succeeded", r.Status, r.Error)
	}
	if target.count("/side-effect") != 1 || target.count("/flaky") != 2 || target.count("/after") != 1 {
		t.Errorf("calls side-effect %d, flaky %d, after %d; want 1, 2, 1 (resumed after the last succeeded step)",
			target.count("/side-effect"), target.count("/flaky"), target.count("/after"))
	}
	replay, err := api.ReplayRun(ctx, id, aias.RunControlRequest{Version: aias.VersionCurrent})
	if err != nil || replay.RunID == "" || replay.RunID == id {
		t.Fatalf("ReplayRun = %+v, %v; want a new run", replay, err)
	}
	r := s.waitRun(acme.Key, replay.RunID, "succeeded")
	if r.ReplayOf != id || r.Trigger.Kind != "replay" {
		t.Errorf("replayed run = %+v, want kind replay linked to %s", r, id)
	}
	if target.count("/side-effect") != 2 {
		t.Errorf("side effect after a replay = %d, want 2 (a replay runs everything again)", target.count("/side-effect"))
	}
	if _, err := api.RedriveRun(ctx, id, aias.RunControlRequest{}); aias.StatusOf(err) != 409 || aias.CodeOf(err) != aias.CodeNotRedrivable {
		t.Errorf("re-driving a succeeded run = %v, want 409 not_redrivable", err)
	}
	if _, err := api.CancelRun(ctx, id); aias.StatusOf(err) != 409 || aias.CodeOf(err) != aias.CodeAlreadyFinished {
		t.Errorf("canceling a finished run = %v, want 409 already_finished", err)
	}
}

func TestCancelStopsARunningRunAtTheNextStepBoundary(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	calls := make(chan string, 10)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- r.URL.Path
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
	}))
	defer target.Close()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: cancel-me
steps:
  - { name: slow, type: http, with: { url: "%[1]s/slow", timeout: 30s } }
  - { name: next, type: http, with: { url: "%[1]s/next" } }
`, target.URL)))
	_, id := s.post(url, `{}`)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never started its first step")
	}
	if c, err := s.client(acme.Key).CancelRun(context.Background(), id); err != nil || c.Status != aias.RunCanceled {
		t.Errorf("CancelRun = %+v, %v; want canceled", c, err)
	}
	close(release)
	// The run would call /next right after /slow returns; give it ample time.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case p := <-calls:
			if p == "/next" {
				t.Fatal("the step after a cancel ran")
			}
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := s.run(acme.Key, id); r.Status != "canceled" {
		t.Errorf("run after cancel = %s, want canceled", r.Status)
	}
}

func TestATargetsRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var at []time.Time
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		first := len(at) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	s := start(t, options{}) // backoff base 50ms: only Retry-After can explain a 3 s wait
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: polite
steps:
  - { name: call, type: http, with: { url: "%s/busy" } }
`, target.URL)))
	_, id := s.post(url, `{}`)
	if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" || r.Attempt != 2 {
		t.Fatalf("run = %s attempt %d, want succeeded on attempt 2", r.Status, r.Attempt)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := at[1].Sub(at[0]); gap < 2900*time.Millisecond {
		t.Errorf("retry came %v after a 503 with Retry-After: 3, want at least 3s", gap)
	}
}

func TestDiagnosticsShowFailuresRejectionsAndUsage(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newCounter(t, map[string][]int{"/flaky": {500, 500}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, httpWorkflow(target.srv.URL, 1)))
	_, id := s.post(url, `{}`)
	s.waitRun(acme.Key, id, "dead")
	_, gh, _ := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "github"})
	ctx, api := context.Background(), s.client(acme.Key)
	e, err := api.RotateEndpoint(ctx, gh, aias.RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(0)), Token: true})
	if err != nil {
		t.Fatalf("RotateEndpoint: %v", err)
	}
	if r := s.do("POST", e.URL, "", "application/json", `{}`); r.Status != 401 {
		t.Fatalf("unsigned delivery = %d, want 401", r.Status)
	}
	d, err := api.GetDiagnostics(ctx)
	if err != nil {
		t.Fatalf("GetDiagnostics: %v", err)
	}
	if d.Runs.Dead != 1 || len(d.RecentFailures) != 1 || !strings.Contains(d.RecentFailures[0].Error, "flaky") {
		t.Errorf("diagnostics runs/failures = %+v %+v, want one dead run failing at flaky", d.Runs, d.RecentFailures)
	}
	if len(d.Rejections) != 1 || d.Rejections[0].Reason != "missing_header" || d.Usage.RunsThisPeriod != 1 {
		t.Errorf("diagnostics rejections/usage = %+v %+v, want one missing_header and one run", d.Rejections, d.Usage)
	}
}

// A redrive on the workflow's current version forgets what the run's old
// version left from the first changed step on, artifacts included, and
// runs the new steps from there.
func TestRedriveOnTheCurrentVersionForgetsTheOldVersionsStepsAndArtifacts(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newCounter(t, map[string][]int{"/flaky": {500}})
	acme := s.signup("acme")
	version := func(receipt string) string {
		return fmt.Sprintf(`
name: receipts
max_attempts: 1
steps:
  - { name: %[2]s, type: artifact, with: { name: "%[2]s.txt", content: "'%[2]s'" } }
  - { name: flaky, type: http, with: { method: POST, url: "%[1]s/flaky" } }
`, target.srv.URL, receipt)
	}
	wf := s.createWorkflow(acme.Key, version("old_receipt"))
	url := s.createEndpoint(acme.Key, wf)
	_, id := s.post(url, `{}`)
	if r := s.waitRun(acme.Key, id, "dead", "failed", "succeeded"); r.Status != "dead" {
		t.Fatalf("run = %s, want dead after its only attempt", r.Status)
	}
	ctx, api := context.Background(), s.client(acme.Key)
	if _, err := api.UpdateWorkflow(ctx, wf, aias.YAML([]byte(version("new_receipt")))); err != nil {
		t.Fatalf("UpdateWorkflow: %v", err)
	}
	if _, err := api.RedriveRun(ctx, id, aias.RunControlRequest{Version: aias.VersionCurrent}); err != nil {
		t.Fatalf("RedriveRun: %v", err)
	}
	if r := s.waitRun(acme.Key, id, "succeeded", "dead", "failed"); r.Status != "succeeded" {
		t.Fatalf("run re-driven on the current version = %s (%v), want succeeded", r.Status, r.Error)
	}
	arts, err := api.ListRunArtifacts(ctx, id)
	if err != nil || len(arts) != 1 || arts[0].Name != "new_receipt.txt" {
		t.Errorf("artifacts = %+v (%v), want only new_receipt.txt (the old version's forgotten)", arts, err)
	}
}
