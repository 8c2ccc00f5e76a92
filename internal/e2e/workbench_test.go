package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"aias/pkg/aias"
)

// The workbench of workflow authors, through the API: validation with
// lines, version diffs, test runs, test deliveries.

func TestValidateWorkflowPlacesProblemsAtTheirLinesAndSavesNothing(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	api := s.client(acme.Key)
	ctx := context.Background()
	bad := "name: orders\nsteps:\n  - name: first\n    type: transform\n    with:\n      output: \"trigger.body.total *\"\n  - name: second\n    type: emial\n"
	_, err := api.ValidateWorkflow(ctx, aias.YAML([]byte(bad)))
	var e *aias.Error
	if !asError(err, &e) || e.Code != aias.CodeValidationFailed {
		t.Fatalf("ValidateWorkflow(bad) = %v, want validation_failed", err)
	}
	lines := map[string]int{}
	for _, f := range e.Fields {
		lines[f.Path] = f.Line
	}
	if lines["steps[0].with.output"] != 6 || lines["steps[1].type"] != 8 {
		t.Errorf("problem lines = %v, want steps[0].with.output at 6 and steps[1].type at 8", lines)
	}
	// The same definition sent to create is refused with the same lines.
	_, err = api.CreateWorkflow(ctx, aias.YAML([]byte(bad)))
	if !asError(err, &e) || len(e.Fields) == 0 || e.Fields[0].Line == 0 {
		t.Errorf("CreateWorkflow(bad) = %v, want problems with lines", err)
	}

	good := "name: orders\nsteps:\n  - name: first\n    type: log\n    with: {message: hi}\n  - name: call\n    type: http\n    with: {url: \"https://example.com/hook\"}\n"
	v, err := api.ValidateWorkflow(ctx, aias.YAML([]byte(good)))
	if err != nil || !v.Valid || v.Steps != 2 || len(v.SideEffects) != 1 || v.SideEffects[0].Name != "call" || v.SideEffects[0].Line != 6 {
		t.Fatalf("ValidateWorkflow(good) = %+v, %v; want valid, 2 steps, the http step as a side effect at line 6", v, err)
	}
	page, err := api.ListWorkflowsPage(ctx, aias.ListOptions{})
	if err != nil || len(page.Data) != 0 {
		t.Errorf("workflows after validating = %d, %v; want none saved", len(page.Data), err)
	}
	viewer, err := api.CreateAPIKey(ctx, aias.CreateAPIKeyRequest{Name: "v", Role: aias.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(viewer.Key).ValidateWorkflow(ctx, aias.YAML([]byte(good))); aias.CodeOf(err) != aias.CodeForbidden {
		t.Errorf("a viewer's validation = %v, want forbidden", err)
	}
}

func TestDiffWorkflowVersionsShowsTheChangedLines(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	api := s.client(acme.Key)
	ctx := context.Background()
	id := s.createWorkflow(acme.Key, "name: d\nsteps:\n  - name: a\n    type: log\n    with: {message: one}\n")
	if _, err := api.UpdateWorkflow(ctx, id, aias.YAML([]byte("name: d\nsteps:\n  - name: a\n    type: log\n    with: {message: two}\n"))); err != nil {
		t.Fatal(err)
	}
	d, err := api.DiffWorkflowVersions(ctx, id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, l := range d.Lines {
		if l.Op != "=" {
			changed = append(changed, l.Op+strings.TrimSpace(l.Text))
		}
	}
	if d.From != 1 || d.To != 2 || d.Added != 1 || d.Removed != 1 || strings.Join(changed, " ") != "-message: one +message: two" {
		t.Errorf("diff = %+v (changed %v), want 1→2 with message one → two", d, changed)
	}
	if _, err := api.DiffWorkflowVersions(ctx, id, 1, 9); aias.CodeOf(err) != aias.CodeNotFound {
		t.Errorf("diff against a missing version = %v, want not_found", err)
	}
	r := s.do("GET", "/api/v1/workflows/"+id+"/diff?from=zero", acme.Key, "", nil)
	if r.Status != http.StatusBadRequest {
		t.Errorf("diff?from=zero = %d, want 400", r.Status)
	}
	other := s.signup("other")
	if _, err := s.client(other.Key).DiffWorkflowVersions(ctx, id, 1, 2); aias.CodeOf(err) != aias.CodeNotFound {
		t.Errorf("another tenant's diff = %v, want not_found", err)
	}
}

func TestTestWorkflowRunsOnceAndAsksBeforeSideEffects(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	api := s.client(acme.Key)
	ctx := context.Background()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer target.Close()
	def := "name: t\nsteps:\n  - name: double\n    type: transform\n    with: {output: \"trigger.body.n * 2\"}\n" +
		"  - name: call\n    type: http\n    with: {url: \"" + target.URL + "/x\", method: POST, body: \"steps.double.output\"}\n"
	trigger := &aias.WorkflowTestTrigger{Body: json.RawMessage(`{"n": 21}`)}
	_, err := api.TestWorkflow(ctx, aias.WorkflowTestRequest{Definition: def, Trigger: trigger})
	var e *aias.Error
	if !asError(err, &e) || e.Code != aias.CodeSideEffectsNotAllowed || len(e.Fields) != 1 || e.Fields[0].Line != 6 {
		t.Fatalf("test without allowing side effects = %v, want side_effects_not_allowed naming line 6", err)
	}
	if hits.Load() != 0 {
		t.Fatal("a refused test reached the target")
	}
	res, err := api.TestWorkflow(ctx, aias.WorkflowTestRequest{Definition: def, Trigger: trigger, AllowSideEffects: true})
	if err != nil || res.Status != "succeeded" || len(res.Steps) != 2 || string(res.Steps[0].Output) != "42" || hits.Load() != 1 {
		t.Fatalf("test = %+v, %v (%d hits); want succeeded, double = 42, one call", res, err, hits.Load())
	}
	runs, err := api.ListRunsPage(ctx, aias.RunFilter{})
	if err != nil || len(runs.Data) != 0 {
		t.Errorf("runs after a test = %d, %v; want none", len(runs.Data), err)
	}
	_, err = api.TestWorkflow(ctx, aias.WorkflowTestRequest{Definition: "name: t\nsteps:\n  - name: x\n    type: nope\n"})
	if !asError(err, &e) || e.Code != aias.CodeValidationFailed || e.Fields[0].Line != 4 {
		t.Errorf("test of an invalid definition = %v, want validation_failed at line 4", err)
	}
}

// Test runs are not stored, so they do not count against the monthly
// quota; a tenant's test runs are limited per minute instead, and one
// tenant's use of its limit leaves another's alone.
func TestTestRunsAreLimitedPerTenant(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_WORKFLOW_TEST_RATE_PER_MINUTE": "2"}})
	ctx := context.Background()
	req := aias.WorkflowTestRequest{Definition: "name: t\nsteps:\n  - name: double\n    type: transform\n    with: {output: \"trigger.body.n * 2\"}\n",
		Trigger: &aias.WorkflowTestTrigger{Body: json.RawMessage(`{"n": 1}`)}}
	acme, globex := s.client(s.signup("acme").Key), s.client(s.signup("globex").Key)
	for i := 1; i <= 2; i++ {
		if res, err := acme.TestWorkflow(ctx, req); err != nil || res.Status != "succeeded" {
			t.Fatalf("test run %d within the limit = %+v, %v; want succeeded", i, res, err)
		}
	}
	_, err := acme.TestWorkflow(ctx, req)
	var e *aias.Error
	if !asError(err, &e) || e.Code != aias.CodeRateLimited || e.RetryAfter <= 0 {
		t.Errorf("third test run within a minute = %v, want rate_limited with Retry-After", err)
	}
	if res, err := globex.TestWorkflow(ctx, req); err != nil || res.Status != "succeeded" {
		t.Errorf("another tenant's test run = %+v, %v; want succeeded", res, err)
	}
}

func TestSendTestDeliveryGoesThroughTheIntake(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	api := s.client(acme.Key)
	ctx := context.Background()
	wf := s.createWorkflow(acme.Key, echoWorkflow)
	for _, scheme := range []string{"token", "standard-webhooks", "stripe", "github", "slack", "shopify", "hmac"} {
		t.Run(scheme, func(t *testing.T) {
			ep, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: wf, Name: scheme, Verification: schemeSettings(scheme)})
			if err != nil {
				t.Fatal(err)
			}
			out, err := api.SendTestDelivery(ctx, ep.ID, aias.TestDeliveryRequest{})
			if err != nil || out.Outcome != "accepted" || out.Status != 202 || out.RunID == "" {
				t.Fatalf("test delivery = %+v, %v; want accepted with a run", out, err)
			}
			r := s.waitRun(acme.Key, out.RunID, aias.RunSucceeded)
			if r.Trigger.EndpointID != ep.ID || r.Trigger.DeliveryID != out.DeliveryID {
				t.Errorf("run's trigger = %+v, want endpoint %s, delivery %s", r.Trigger, ep.ID, out.DeliveryID)
			}
		})
	}
	// A body the endpoint refuses is a rejection, in the rejection log.
	small, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: wf, Name: "small", MaxBodyBytes: aias.Ptr[int64](1024)})
	if err != nil {
		t.Fatal(err)
	}
	big, _ := json.Marshal(map[string]string{"pad": strings.Repeat("x", 2000)})
	out, err := api.SendTestDelivery(ctx, small.ID, aias.TestDeliveryRequest{Body: big})
	if err != nil || out.Outcome != "rejected" || out.Status != 413 || out.Reason != "body_too_large" {
		t.Fatalf("oversized test delivery = %+v, %v; want rejected 413 body_too_large", out, err)
	}
	log, err := api.ListEndpointRejectionsPage(ctx, small.ID, aias.ListOptions{})
	if err != nil || len(log.Data) != 1 || log.Data[0].Reason != "body_too_large" {
		t.Errorf("rejection log = %+v, %v; want the body_too_large", log.Data, err)
	}
	// A disabled endpoint takes no delivery: 409, saying so.
	if _, err := api.UpdateEndpoint(ctx, small.ID, aias.UpdateEndpointRequest{Enabled: aias.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.SendTestDelivery(ctx, small.ID, aias.TestDeliveryRequest{}); aias.CodeOf(err) != aias.CodeEndpointDisabled {
		t.Errorf("test delivery to a disabled endpoint = %v, want endpoint_disabled", err)
	}
	member, err := api.CreateAPIKey(ctx, aias.CreateAPIKeyRequest{Name: "m", Role: aias.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(member.Key).SendTestDelivery(ctx, small.ID, aias.TestDeliveryRequest{}); aias.CodeOf(err) != aias.CodeForbidden {
		t.Errorf("a member's test delivery = %v, want forbidden", err)
	}
}

func asError(err error, target **aias.Error) bool {
	return errors.As(err, target)
}
