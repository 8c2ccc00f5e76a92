package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/internal/signature"
	"aias/pkg/aias"
)

func TestPlansArePublicAndMeShowsTheTenantsLimits(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	ctx := context.Background()
	plans, err := s.client("").ListPlans(ctx)
	if err != nil || len(plans) != 3 || plans[0].Name != "free" || plans[0].Limits.Workflows != 3 {
		t.Fatalf("ListPlans = %+v, %v; want free, pro and business with their limits", plans, err)
	}
	free := s.signupOn("freeloader", "free")
	me, err := s.client(free.Key).GetMe(ctx)
	if err != nil || me.Plan != "free" || me.Limits.Workflows != 3 || me.Usage.ResetsAt.IsZero() {
		t.Errorf("GetMe = %+v, %v; want the free plan, its limits and usage with a reset time", me, err)
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
	ctx, api := context.Background(), s.client(free.Key)
	for _, scheme := range signature.Schemes() {
		e, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: wf, Name: scheme, Verification: schemeSettings(scheme)})
		if err != nil {
			t.Errorf("%s scheme on the free plan = %v, want created", scheme, err)
			continue
		}
		if err := api.DeleteEndpoint(ctx, e.ID); err != nil { // the plan allows 2 endpoints
			t.Fatal(err)
		}
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
func schemeSettings(scheme string) *aias.VerificationInput {
	v := &aias.VerificationInput{Scheme: aias.VerificationScheme(scheme)}
	if scheme == "hmac" {
		v.Header = "X-Sig"
	}
	return v
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
	api := s.client(tn.Key)
	for scheme, want := range map[string]aias.Code{"github": "", "shopify": aias.CodePlanLimit, "standard-webhooks": aias.CodePlanLimit, "token": ""} {
		_, err := api.CreateEndpoint(context.Background(), aias.CreateEndpointRequest{WorkflowID: wf, Name: scheme, Verification: schemeSettings(scheme)})
		if aias.CodeOf(err) != want || (err == nil) != (want == "") {
			t.Errorf("%s scheme on a plan listing only github = %v, want %q", scheme, err, want)
		}
	}
}
