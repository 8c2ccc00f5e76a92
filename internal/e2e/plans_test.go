package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/internal/signature"
)

func TestPlansArePublicAndMeShowsTheTenantsLimits(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	var plans struct {
		Data []struct {
			Name   string         `json:"name"`
			Limits map[string]any `json:"limits"`
		} `json:"data"`
	}
	s.mustJSON("GET", "/api/v1/plans", "", nil, 200, &plans)
	if len(plans.Data) != 3 || plans.Data[0].Name != "free" || plans.Data[0].Limits["workflows"] == nil {
		t.Fatalf("GET /plans = %+v, want free, pro and business with their limits", plans.Data)
	}
	free := s.signupOn("freeloader", "free")
	var me struct {
		Plan   string         `json:"plan"`
		Limits map[string]any `json:"limits"`
		Usage  map[string]any `json:"usage"`
	}
	s.mustJSON("GET", "/api/v1/me", free.Key, nil, 200, &me)
	if me.Plan != "free" || me.Limits["workflows"] != float64(3) || me.Usage["resets_at"] == nil {
		t.Errorf("GET /me = %+v, want the free plan, its limits and usage with a reset time", me)
	}
}

func TestConcurrentCreationsCannotOvershootThePlan(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	free := s.signupOn("free", "free") // 3 workflows
	s.createWorkflow(free.Key, strings.Replace(orderWorkflow, "order-received", "first", 1))
	s.createWorkflow(free.Key, strings.Replace(orderWorkflow, "order-received", "second", 1))
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.do("POST", "/api/v1/workflows", free.Key, "application/yaml",
				strings.Replace(orderWorkflow, "order-received", fmt.Sprintf("racer-%d", i), 1)).Status
		}()
	}
	wg.Wait()
	created, limited := 0, 0
	for _, st := range statuses {
		switch st {
		case 201:
			created++
		case 402:
			limited++
		}
	}
	if created != 1 || limited != 19 {
		t.Errorf("20 parallel creates at limit-1: %d created, %d refused with 402 (%v); want 1 and 19", created, limited, statuses)
	}
	r := s.do("POST", "/api/v1/workflows", free.Key, "application/yaml", strings.Replace(orderWorkflow, "order-received", "one-more", 1))
	if r.Status != 402 || !strings.Contains(r.String(), `"code":"plan_limit"`) || !strings.Contains(r.String(), "free") || !strings.Contains(r.String(), "workflows") {
		t.Errorf("create beyond the plan = %d %s, want 402 plan_limit naming the plan and the limit", r.Status, r.Body)
	}
}

func TestTheFreePlanVerifiesEverySchemeAndThePlanDecidesPayloadSize(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	free := s.signupOn("free", "free")
	wf := s.createWorkflow(free.Key, echoWorkflow)
	for _, scheme := range signature.Schemes() {
		var e struct{ ID string }
		r := s.do("POST", "/api/v1/webhook-endpoints", free.Key, "", map[string]any{"workflow_id": wf, "name": scheme, "verification": schemeSettings(scheme)})
		if r.Status != 201 {
			t.Errorf("%s scheme on the free plan = %d %s, want 201", scheme, r.Status, r.Body)
			continue
		}
		r.json(t, &e)
		s.mustJSON("DELETE", "/api/v1/webhook-endpoints/"+e.ID, free.Key, nil, 204, nil) // the plan allows 2 endpoints
	}
	url := s.createEndpoint(free.Key, wf)
	big := `{"pad":"` + strings.Repeat("x", 300<<10) + `"}` // over the free plan's 256 KiB
	if r := s.do("POST", url, "", "application/json", big); r.Status != 413 {
		t.Errorf("300 KiB on the free plan = %d, want 413", r.Status)
	}
	s.setPlan(free.ID, "pro")
	// Written straight into the database, as another process would: the
	// ingress's resolved endpoint (AIAS_ENDPOINT_CACHE_TTL, 1 s) lags it.
	deadline := time.Now().Add(3 * time.Second)
	for {
		r := s.do("POST", url, "", "application/json", big)
		if r.Status == 202 {
			break
		}
		if r.Status != 413 || time.Now().After(deadline) {
			t.Fatalf("300 KiB after upgrading to pro = %d, want 202 within the endpoint cache's TTL", r.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStepsPerWorkflowFollowThePlan(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	free := s.signupOn("free", "free") // 10 steps
	var b strings.Builder
	b.WriteString("name: long\nsteps:\n")
	for i := range 11 {
		fmt.Fprintf(&b, "  - {name: s%d, type: transform, with: {output: '%d'}}\n", i, i)
	}
	r := s.do("POST", "/api/v1/workflows", free.Key, "application/yaml", b.String())
	if r.Status != 400 || !strings.Contains(r.String(), `"path":"steps"`) {
		t.Errorf("11 steps on the free plan = %d %s, want 400 at path steps", r.Status, r.Body)
	}
	s.setPlan(free.ID, "pro")
	if r := s.do("POST", "/api/v1/workflows", free.Key, "application/yaml", b.String()); r.Status != 201 {
		t.Errorf("11 steps on pro = %d %s, want 201", r.Status, r.Body)
	}
}

// schemeSettings is the smallest valid verification block of a scheme.
func schemeSettings(scheme string) map[string]string {
	if scheme == "hmac" {
		return map[string]string{"scheme": scheme, "header": "X-Sig"}
	}
	return map[string]string{"scheme": scheme}
}

// An operator's plan file may still narrow the schemes a plan verifies.
func TestAPlanFileCanRestrictTheSchemes(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	plans := strings.Replace(tinyPlans, "held_runs: 2}", "held_runs: 2}\n    features: {signature_schemes: [github]}", 1)
	if err := os.WriteFile(file, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, options{env: map[string]string{"AIAS_PLANS_FILE": file}})
	tn := s.signupOn("narrow", "tiny")
	wf := s.createWorkflow(tn.Key, echoWorkflow)
	for scheme, want := range map[string]int{"github": 201, "shopify": 402, "standard-webhooks": 402, "token": 201} {
		r := s.do("POST", "/api/v1/webhook-endpoints", tn.Key, "", map[string]any{"workflow_id": wf, "name": scheme, "verification": schemeSettings(scheme)})
		if r.Status != want || (want == 402 && !strings.Contains(r.String(), `"code":"plan_limit"`)) {
			t.Errorf("%s scheme on a plan listing only github = %d %s, want %d", scheme, r.Status, r.Body, want)
		}
	}
}
