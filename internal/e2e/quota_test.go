package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// tinyPlans is a catalogue with a quota small enough to exhaust in a test.
const tinyPlans = `
default: tiny
plans:
  - name: tiny
    limits: {workflows: 5, webhook_endpoints: 5, runs_per_month: 3, steps_per_workflow: 10, max_payload_bytes: 65536,
             artifact_bytes_per_month: 1048576, retention_days: 1, concurrency: 2, held_runs: 2}
  - name: big
    limits: {workflows: -1, webhook_endpoints: -1, runs_per_month: -1, steps_per_workflow: 100, max_payload_bytes: 1048576,
             artifact_bytes_per_month: -1, retention_days: 30, concurrency: 10, held_runs: -1}
`

func TestOverQuotaDeliveriesAreHeldThenRefusedThenRunAfterAnUpgrade(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	if err := os.WriteFile(file, []byte(tinyPlans), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, options{env: map[string]string{"AIAS_PLANS_FILE": file}})
	tn := s.signupOn("tiny", "tiny")
	wf := s.createWorkflow(tn.Key, echoWorkflow)
	url := s.createEndpoint(tn.Key, wf)

	var statuses []string
	var held []string
	for i := range 5 {
		r := s.do("POST", url, "", "application/json", `{}`, "Idempotency-Key", fmt.Sprintf("d%d", i))
		var acc struct {
			RunID  string `json:"run_id"`
			Status string `json:"status"`
		}
		r.json(t, &acc)
		statuses = append(statuses, fmt.Sprintf("%d %s", r.Status, acc.Status))
		if acc.Status == "held" {
			held = append(held, acc.RunID)
		}
		// A repeat under the quota is answered with the first run and
		// counts nothing: the statuses below would shift if it did.
		if r := s.do("POST", url, "", "application/json", `{}`, "Idempotency-Key", "d0"); r.Status != 200 {
			t.Fatalf("a repeat of d0 after d%d = %d, want 200", i, r.Status)
		}
	}
	want := "[202 queued 202 queued 202 queued 202 held 202 held]"
	if got := fmt.Sprint(statuses); got != want {
		t.Fatalf("five deliveries on a quota of 3 with 2 held = %s, want %s", got, want)
	}
	full := s.do("POST", url, "", "application/json", `{}`)
	if full.Status != 429 || !strings.Contains(full.String(), "quota_exhausted") || full.Header.Get("Retry-After") == "" {
		t.Errorf("beyond the held buffer = %d %s (Retry-After %q), want 429 quota_exhausted with Retry-After", full.Status, full.Body, full.Header.Get("Retry-After"))
	}
	if r := s.do("POST", url, "", "application/json", `{}`, "Idempotency-Key", "d0"); r.Status != 200 {
		t.Errorf("a repeat with the quota full = %d, want 200 (duplicates cost nothing)", r.Status)
	}
	if r := s.do("POST", "/api/v1/workflows/"+wf+"/runs", tn.Key, "", map[string]any{}); r.Status != 429 {
		t.Errorf("a manual trigger with the quota full = %d, want 429: it counts against the same quota", r.Status)
	}
	// Losing Redis must not reset the count: it is rebuilt from Postgres.
	opt, _ := redis.ParseURL(s.redisURL)
	rdb := redis.NewClient(opt)
	_ = rdb.FlushDB(context.Background()).Err()
	_ = rdb.Close()
	if r := s.do("POST", url, "", "application/json", `{}`); r.Status != 429 {
		t.Errorf("after Redis lost the counter = %d, want 429 still", r.Status)
	}
	for _, id := range held {
		if st := s.run(tn.Key, id).Status; st != "held" {
			t.Errorf("held run %s is %s before the upgrade", id, st)
		}
	}
	s.setPlan(tn.ID, "big")
	for _, id := range held {
		s.waitRun(tn.Key, id, "succeeded")
	}
	usage, err := s.client(tn.Key).GetUsage(context.Background())
	if err != nil || usage.RunsThisPeriod != 5 {
		t.Errorf("runs this period after the release = %d (%v), want 5", usage.RunsThisPeriod, err)
	}
}

func TestATenantNeverRunsMoreAtOnceThanItsPlanAllows(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	one := strings.Replace(strings.Replace(tinyPlans, "concurrency: 2", "concurrency: 1", 1), "runs_per_month: 3", "runs_per_month: 100", 1)
	if err := os.WriteFile(file, []byte(one), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	inFlight, peak := 0, 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(150 * time.Millisecond) // the target is slow; the test observes overlap
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	defer target.Close()
	s := start(t, options{env: map[string]string{"AIAS_PLANS_FILE": file}}) // 4 workers per process
	tn := s.signupOn("one", "tiny")
	url := s.createEndpoint(tn.Key, s.createWorkflow(tn.Key, fmt.Sprintf(`
name: slow
steps:
  - { name: call, type: http, with: { url: "%s/slow" } }
`, target.URL)))
	var ids []string
	for range 4 {
		_, id := s.post(url, `{}`)
		ids = append(ids, id)
	}
	for _, id := range ids {
		if r := s.waitRun(tn.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" || r.Attempt != 1 {
			t.Errorf("run %s = %s attempt %d, want succeeded on attempt 1 (waiting for a slot is free)", id, r.Status, r.Attempt)
		}
	}
	if peak != 1 {
		t.Errorf("peak concurrent runs of a tenant with concurrency 1 = %d, want 1", peak)
	}
}

func TestArtifactsBeyondThePlansMonthlyBytesFailTheStep(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	small := strings.Replace(tinyPlans, "artifact_bytes_per_month: 1048576", "artifact_bytes_per_month: 100", 1)
	if err := os.WriteFile(file, []byte(small), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, options{env: map[string]string{"AIAS_PLANS_FILE": file}})
	tn := s.signupOn("arty", "tiny")
	url := s.createEndpoint(tn.Key, s.createWorkflow(tn.Key, `
name: keeps
steps:
  - { name: keep, type: artifact, with: { name: "body.txt", content_type: text/plain, content: "trigger.raw" } }
`))
	_, first := s.post(url, `{"small":1}`)
	s.waitRun(tn.Key, first, "succeeded")
	_, second := s.post(url, `{"pad":"`+strings.Repeat("x", 200)+`"}`)
	r := s.waitRun(tn.Key, second, "failed", "dead", "succeeded")
	if r.Status != "failed" || r.Error == nil || !strings.Contains(*r.Error, "artifact bytes") {
		t.Errorf("an artifact past the plan's monthly bytes = %s (%v), want failed naming the limit", r.Status, r.Error)
	}
	arts, err := s.client(tn.Key).ListRunArtifacts(context.Background(), second)
	if err != nil || len(arts) != 0 {
		t.Errorf("artifacts stored past the limit = %d (%v), want 0", len(arts), err)
	}
}

func TestConcurrentEndpointCreationsCannotOvershootThePlan(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	free := s.signupOn("free", "free") // 2 endpoints
	wf := s.createWorkflow(free.Key, echoWorkflow)
	s.createEndpoint(free.Key, wf)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.do("POST", "/api/v1/webhook-endpoints", free.Key, "", map[string]any{"workflow_id": wf, "name": fmt.Sprint("e", i)}).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		if st == 201 {
			created++
		} else if st != 402 {
			t.Errorf("status %d, want 201 or 402", st)
		}
	}
	if created != 1 {
		t.Errorf("20 parallel endpoint creations at limit-1 created %d, want 1", created)
	}
}
