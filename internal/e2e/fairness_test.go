package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A tenant's backlog cannot hold another tenant's run back without bound:
// with tenant A holding 2,000 queued runs, tenant B's one run finishes while
// most of A's backlog is still waiting.
func TestOneTenantsBacklogDoesNotStarveAnother(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	plans := strings.Replace(tinyPlans, "runs_per_month: 3", "runs_per_month: -1", 1) // concurrency 2 per tenant
	if err := os.WriteFile(file, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	var done atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // a real target takes a moment: A drains at most 40 runs a second
		done.Add(1)
	}))
	defer target.Close()
	s := start(t, options{env: map[string]string{"AIAS_PLANS_FILE": file, "AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "0", "AIAS_RATE_LIMIT_IP_PER_SECOND": "0"}})
	wf := fmt.Sprintf("name: call\nsteps:\n  - { name: call, type: http, with: { url: \"%s/x\" } }\n", target.URL)
	a, b := s.signupOn("busy", "tiny"), s.signupOn("quiet", "tiny")
	urlA, urlB := s.createEndpoint(a.Key, s.createWorkflow(a.Key, wf)), s.createEndpoint(b.Key, s.createWorkflow(b.Key, wf))

	const backlog = 2000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < backlog; i += 8 {
				if st, _ := s.post(urlA, `{}`); st != 202 {
					t.Errorf("A's delivery = %d", st)
					return
				}
			}
		}()
	}
	wg.Wait()
	_, runB := s.post(urlB, `{}`)
	s.waitRun(b.Key, runB, "succeeded")
	if n := done.Load(); n > backlog/2 {
		t.Errorf("B finished only after %d of A's %d runs, want before most of A's backlog", n, backlog)
	}
	t.Logf("B finished with %d of A's %d runs done", done.Load(), backlog)
}
