package e2e_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Deliveries of one tenant sent at once go through the intake's group
// commit (on by default): each is answered 202 with a run of its own, every
// run is stored and executed once, and every one of them was committed by
// the group commit (the runs its transactions carried add up to the
// deliveries, however they were batched).
func TestConcurrentDeliveriesAreEachCommittedAndRunOnceThroughTheGroupCommit(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	before := histogram(t, s.app.Metrics.IntakeCommits.WithLabelValues("ok"))

	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, id := s.post(url, fmt.Sprintf(`{"order":{"id":"A-%d","total":10}}`, i), "Idempotency-Key", fmt.Sprint("delivery-", i))
			if status != http.StatusAccepted || id == "" {
				t.Errorf("delivery %d = %d (run %q), want 202 with a run", i, status, id)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if len(distinct) != n {
		t.Fatalf("%d deliveries got %d distinct runs, want %d", n, len(distinct), n)
	}
	after := histogram(t, s.app.Metrics.IntakeCommits.WithLabelValues("ok"))
	if runs := after.GetSampleSum() - before.GetSampleSum(); runs != n {
		t.Errorf("the group commit's transactions carried %v runs, want %d", runs, n)
	}
	t.Logf("%d runs in %d transactions", n, after.GetSampleCount()-before.GetSampleCount())
	for i, id := range ids {
		if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" || r.Attempt != 1 {
			t.Errorf("run %d = %s on attempt %d, want succeeded on attempt 1", i, r.Status, r.Attempt)
		}
	}
}

func histogram(t *testing.T, o prometheus.Observer) *dto.Histogram {
	t.Helper()
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram()
}
