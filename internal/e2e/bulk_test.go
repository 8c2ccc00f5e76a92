package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aias/pkg/aias"
	"github.com/google/uuid"
)

// bulkRuns lists a tenant's runs (at most 200) the filter matches.
func (s *system) bulkRuns(key string, f aias.RunFilter) []aias.Run {
	s.t.Helper()
	f.Limit = 200
	p, err := s.client(key).ListRunsPage(context.Background(), f)
	if err != nil {
		s.t.Fatalf("ListRuns(%+v): %v", f, err)
	}
	return p.Data
}

// waitRuns polls until exactly n runs match the filter.
func (s *system) waitRuns(key string, f aias.RunFilter, n int) []aias.Run {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var rs []aias.Run
	for time.Now().Before(deadline) {
		if rs = s.bulkRuns(key, f); len(rs) == n {
			return rs
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("runs matching %+v = %d, want %d", f, len(rs), n)
	return nil
}

// trigger starts a manual run of a workflow and returns its id.
func (s *system) trigger(key, workflowID string) string {
	s.t.Helper()
	out, err := s.client(key).TriggerWorkflow(context.Background(), workflowID, map[string]int{"n": 1})
	if err != nil {
		s.t.Fatalf("TriggerWorkflow: %v", err)
	}
	return out.RunID
}

// switchable answers 500 until switched, then 200, and counts the calls per
// Idempotency-Key (one key per run and step).
type switchable struct {
	srv  *httptest.Server
	ok   atomic.Bool
	mu   sync.Mutex
	keys map[string]int
}

func newSwitchable(t *testing.T) *switchable {
	sw := &switchable{keys: map[string]int{}}
	sw.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw.mu.Lock()
		sw.keys[r.Header.Get("Idempotency-Key")]++
		sw.mu.Unlock()
		if !sw.ok.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(sw.srv.Close)
	return sw
}

func (sw *switchable) calls(key string) int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.keys[key]
}

func oneCallWorkflow(name, url string) string {
	return fmt.Sprintf(`
name: %s
max_attempts: 1
steps:
  - { name: call, type: http, with: { method: POST, url: "%s" } }
`, name, url)
}

func TestBulkRedriveOf100DeadRuns(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newSwitchable(t)
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, oneCallWorkflow("dies", target.srv.URL+"/call"))
	other := s.createWorkflow(acme.Key, oneCallWorkflow("other", target.srv.URL+"/other"))
	for range 100 {
		s.trigger(acme.Key, wf)
	}
	otherRun := s.trigger(acme.Key, other)
	dead := s.waitRuns(acme.Key, aias.RunFilter{Status: aias.RunDead, WorkflowID: wf}, 100)
	s.waitRun(acme.Key, otherRun, "dead")
	target.ok.Store(true)

	ctx, api := context.Background(), s.client(acme.Key)
	res, err := api.RedriveRuns(ctx, aias.BulkRedriveRequest{WorkflowID: wf})
	if err != nil || res.Count != 100 || res.More || res.Held != nil {
		t.Fatalf("RedriveRuns = %+v, %v; want count 100, no more, no held", res, err)
	}
	s.waitRuns(acme.Key, aias.RunFilter{Status: aias.RunSucceeded, WorkflowID: wf}, 100)
	for _, r := range dead {
		if n := target.calls(r.ID + ":call"); n != 2 {
			t.Errorf("calls of run %s = %d, want 2 (the failed one and one more after the re-drive)", r.ID, n)
		}
	}
	if st := s.run(acme.Key, otherRun).Status; st != "dead" {
		t.Errorf("run of another workflow = %s, want still dead (not matched)", st)
	}
	log, err := api.ListAuditEntriesPage(ctx, aias.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Data) == 0 || log.Data[0].Action != "run.bulk_redrive" || log.Data[0].ObjectType != "run_filter" ||
		!strings.Contains(log.Data[0].ObjectID, `"workflow_id":"`+wf+`"`) || !strings.Contains(log.Data[0].ObjectID, `"count":100`) {
		t.Errorf("audit head = %+v, want run.bulk_redrive with the filter and count 100", log.Data[:min(1, len(log.Data))])
	}
}

func TestBulkReplayByTimeRangeMakesLinkedRuns(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, echoWorkflow)
	var early []string
	for range 3 {
		id := s.trigger(acme.Key, wf)
		s.waitRun(acme.Key, id, "succeeded")
		early = append(early, id)
	}
	late := s.trigger(acme.Key, wf)
	s.waitRun(acme.Key, late, "succeeded")
	from, until := s.run(acme.Key, early[0]).CreatedAt, s.run(acme.Key, late).CreatedAt
	filter := aias.BulkReplayRequest{Status: []aias.RunStatus{aias.RunSucceeded}, WorkflowID: wf,
		CreatedAfter: &from, CreatedBefore: &until, Limit: 2}

	ctx, api := context.Background(), s.client(acme.Key)
	first, err := api.ReplayRuns(ctx, filter)
	if err != nil || first.Count != 2 || first.Held == nil || *first.Held != 0 || !first.More || first.NextCursor == "" {
		t.Fatalf("ReplayRuns with limit 2 of 3 = %+v, %v; want count 2, held 0, more with a cursor", first, err)
	}
	filter.Cursor = first.NextCursor
	second, err := api.ReplayRuns(ctx, filter)
	if err != nil || second.Count != 1 || second.More || second.NextCursor != "" {
		t.Fatalf("ReplayRuns continued at the cursor = %+v, %v; want count 1, no more", second, err)
	}

	replays := s.waitRuns(acme.Key, aias.RunFilter{Status: aias.RunSucceeded, WorkflowID: wf}, 4+3)
	var linked []string
	for _, r := range replays {
		if r.ReplayOf != "" {
			if r.Trigger.Kind != "replay" {
				t.Errorf("replay %s has trigger kind %q, want replay", r.ID, r.Trigger.Kind)
			}
			linked = append(linked, r.ReplayOf)
		}
	}
	slices.Sort(linked)
	slices.Sort(early)
	if !slices.Equal(linked, early) {
		t.Errorf("replays link to %v, want each run of the range once: %v (not %s, created at the range's end)", linked, early, late)
	}
}

func TestBulkFiltersThatMatchNothingCountZero(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, echoWorkflow)
	s.waitRun(acme.Key, s.trigger(acme.Key, wf), "succeeded")
	ctx, api := context.Background(), s.client(acme.Key)
	later := time.Now().Add(time.Hour)
	for name, call := range map[string]func() (aias.BulkResult, error){
		"redrive of every failed or dead run (there is none)": func() (aias.BulkResult, error) {
			return api.RedriveRuns(ctx, aias.BulkRedriveRequest{})
		},
		"redrive of the workflow's dead runs": func() (aias.BulkResult, error) {
			return api.RedriveRuns(ctx, aias.BulkRedriveRequest{WorkflowID: wf, Status: []aias.RunStatus{aias.RunDead}})
		},
		"replay of canceled and failed runs": func() (aias.BulkResult, error) {
			return api.ReplayRuns(ctx, aias.BulkReplayRequest{Status: []aias.RunStatus{aias.RunCanceled, aias.RunFailed}})
		},
		"replay of runs created in an hour": func() (aias.BulkResult, error) {
			return api.ReplayRuns(ctx, aias.BulkReplayRequest{Status: []aias.RunStatus{aias.RunSucceeded}, CreatedAfter: &later})
		},
	} {
		if res, err := call(); err != nil || res.Count != 0 || res.More {
			t.Errorf("%s = %+v, %v; want count 0, no more", name, res, err)
		}
	}
	if rs := s.bulkRuns(acme.Key, aias.RunFilter{WorkflowID: wf}); len(rs) != 1 {
		t.Errorf("runs after bulk calls matching nothing = %d, want the one", len(rs))
	}
}

func TestBulkInvalidFilterAnswersWithFieldPaths(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	for _, c := range []struct {
		path  string
		body  any
		paths []string
	}{
		{"/api/v1/runs/redrive", map[string]any{"status": []string{"dead", "queued"}, "created_after": "2025-03-02T00:00:00Z",
			"created_before": "2025-03-01T00:00:00Z", "version": "latest", "limit": 10001}, []string{"status[1]", "created_after", "version", "limit"}},
		{"/api/v1/runs/replay", nil, []string{"status"}},
		{"/api/v1/runs/replay", map[string]any{"status": []string{"succeeded"}, "workflow_id": "nope", "created_before": "tomorrow"},
			[]string{"workflow_id", "created_before"}},
	} {
		r := s.do("POST", c.path, acme.Key, "", c.body)
		var p problem
		r.json(t, &p)
		var got []string
		for _, f := range p.Errors {
			got = append(got, f.Path)
		}
		if r.Status != 400 || p.Code != "validation_failed" || !slices.Equal(got, c.paths) ||
			r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST %s %v = %d %s, want 400 validation_failed at %v", c.path, c.body, r.Status, r.Body, c.paths)
		}
	}
	r := s.do("POST", "/api/v1/runs/redrive", acme.Key, "", map[string]any{"statuses": []string{"dead"}})
	if r.Status != 400 || !strings.Contains(r.String(), "invalid_json") {
		t.Errorf("POST /api/v1/runs/redrive with an unknown field = %d %s, want 400 invalid_json", r.Status, r.Body)
	}
}

func TestBulkWithAnotherTenantsWorkflowIsNotFound(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme, other := s.signup("acme"), s.signup("other")
	theirs := s.createWorkflow(other.Key, oneCallWorkflow("theirs", "http://127.0.0.1:1/x"))
	s.waitRun(other.Key, s.trigger(other.Key, theirs), "dead", "failed")
	for _, wf := range []string{theirs, uuid.NewString()} {
		for _, c := range []struct {
			path string
			body map[string]any
		}{
			{"/api/v1/runs/redrive", map[string]any{"workflow_id": wf}},
			{"/api/v1/runs/replay", map[string]any{"workflow_id": wf, "status": []string{"dead", "failed"}}},
		} {
			r := s.do("POST", c.path, acme.Key, "", c.body)
			if r.Status != 404 || !strings.Contains(r.String(), `"code":"not_found"`) {
				t.Errorf("POST %s with workflow %s = %d %s, want 404 not_found", c.path, wf, r.Status, r.Body)
			}
		}
	}
	if rs := s.bulkRuns(other.Key, aias.RunFilter{WorkflowID: theirs}); len(rs) != 1 || (rs[0].Status != "dead" && rs[0].Status != "failed") {
		t.Errorf("the other tenant's runs = %+v, want its one run untouched", rs)
	}
}

func TestBulkControlRefusesAViewerKey(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	viewer := s.mintKey(acme, "viewer")
	wf := s.createWorkflow(acme.Key, oneCallWorkflow("dies", "http://127.0.0.1:1/x"))
	id := s.trigger(acme.Key, wf)
	s.waitRun(acme.Key, id, "dead", "failed")
	for _, path := range []string{"/api/v1/runs/redrive", "/api/v1/runs/replay", "/api/v1/runs/" + id + "/redrive"} {
		r := s.do("POST", path, viewer, "", map[string]any{"status": []string{"dead", "failed"}})
		if r.Status != 403 || !strings.Contains(r.String(), `"code":"forbidden"`) {
			t.Errorf("POST %s as a viewer = %d %s, want 403 forbidden like the single-run endpoints", path, r.Status, r.Body)
		}
	}
	if st := s.run(acme.Key, id).Status; st != "dead" && st != "failed" {
		t.Errorf("run after a viewer's bulk calls = %s, want untouched", st)
	}
}
