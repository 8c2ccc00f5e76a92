package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"aias/pkg/aias"
	"github.com/google/uuid"
)

func TestBadInputGetsAProblemWithAStableCode(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_MAX_BODY_BYTES": "2048"}})
	acme := s.signup("acme")
	other := s.signup("other")
	wf := s.createWorkflow(acme.Key, orderWorkflow)
	url := s.createEndpoint(acme.Key, wf)
	_, token, _ := strings.Cut(strings.TrimPrefix(url, s.base+"/api/webhooks/"), "/")
	big := `{"pad":"` + strings.Repeat("x", 4096) + `"}`

	cases := []struct {
		name        string
		method      string
		path        string
		key         string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
		wantField   string
	}{
		{"unknown tenant", "POST", "/api/webhooks/" + uuid.NewString() + "/" + token, "", "application/json", `{}`, 404, "not_found", ""},
		{"wrong token", "POST", "/api/webhooks/" + acme.ID + "/not-the-token", "", "application/json", `{}`, 404, "not_found", ""},
		{"token of another tenant's url", "POST", "/api/webhooks/" + other.ID + "/" + token, "", "application/json", `{}`, 404, "not_found", ""},
		{"tenant that is not a uuid", "POST", "/api/webhooks/acme/" + token, "", "application/json", `{}`, 404, "not_found", ""},
		{"NUL in the tenant", "POST", "/api/webhooks/%00/" + token, "", "application/json", `{}`, 404, "not_found", ""},
		{"quotes in the token", "POST", "/api/webhooks/" + acme.ID + "/%27%22%3B--", "", "application/json", `{}`, 404, "not_found", ""},
		{"a 4 KiB token", "POST", "/api/webhooks/" + acme.ID + "/" + strings.Repeat("t", 4096), "", "application/json", `{}`, 404, "not_found", ""},
		{"oversize webhook body", "POST", url, "", "application/json", big, 413, "payload_too_large", ""},
		{"unknown step type", "POST", "/api/v1/workflows", acme.Key, "application/json",
			`{"name":"x","steps":[{"name":"a","type":"teleport"}]}`, 400, "validation_failed", "steps[0].type"},
		{"bad expression", "POST", "/api/v1/workflows", acme.Key, "application/json",
			`{"name":"x","steps":[{"name":"a","type":"transform","with":{"output":"trigger.body +* 2"}}]}`, 400, "validation_failed", "steps[0].with.output"},
		{"forward reference", "POST", "/api/v1/workflows", acme.Key, "application/yaml",
			"name: x\nsteps:\n  - {name: a, type: transform, with: {output: steps.b.output}}\n  - {name: b, type: transform, with: {output: '1'}}\n", 400, "validation_failed", "steps[0].with.output"},
		{"definition that is not YAML", "POST", "/api/v1/workflows", acme.Key, "application/yaml", "name: [unclosed", 400, "validation_failed", ""},
		{"definition as text/plain", "POST", "/api/v1/workflows", acme.Key, "text/plain", "name: x", 415, "unsupported_media_type", ""},
		{"non-JSON body to a JSON endpoint", "POST", "/api/v1/webhook-endpoints", acme.Key, "application/json", `workflow_id=1`, 400, "invalid_json", ""},
		{"JSON endpoint sent as form", "POST", "/api/v1/webhook-endpoints", acme.Key, "application/x-www-form-urlencoded", `a=1`, 415, "unsupported_media_type", ""},
		{"unknown field", "POST", "/api/v1/webhook-endpoints", acme.Key, "application/json", `{"workflow_id":"` + wf + `","name":"x","colour":"red"}`, 400, "invalid_json", ""},
		{"endpoint for another tenant's workflow", "POST", "/api/v1/webhook-endpoints", other.Key, "application/json", `{"workflow_id":"` + wf + `","name":"x"}`, 400, "validation_failed", "workflow_id"},
		{"unsupported verification scheme", "POST", "/api/v1/webhook-endpoints", acme.Key, "application/json", `{"workflow_id":"` + wf + `","name":"x","verification":{"scheme":"telepathy"}}`, 400, "validation_failed", "verification.scheme"},
		{"signup with a bad email", "POST", "/api/v1/signup", "", "application/json", `{"email":"nope","tenant_name":"x"}`, 400, "validation_failed", "email"},
		{"no API key", "GET", "/api/v1/runs", "", "", "", 401, "unauthorized", ""},
		{"forged API key", "GET", "/api/v1/runs", "aias_" + strings.Repeat("A", 36), "", "", 401, "unauthorized", ""},
		{"another tenant's workflow", "GET", "/api/v1/workflows/" + wf, other.Key, "", "", 404, "not_found", ""},
		{"run id that is not a uuid", "GET", "/api/v1/runs/../../etc", acme.Key, "", "", 404, "not_found", ""},
		{"bad run filter", "GET", "/api/v1/runs?status=sleeping", acme.Key, "", "", 400, "validation_failed", "status"},
		{"bad cursor", "GET", "/api/v1/runs?cursor=bm9wZQ", acme.Key, "", "", 400, "validation_failed", ""},
		{"unknown route", "GET", "/api/v2/nothing", acme.Key, "", "", 404, "not_found", ""},
		{"wrong method", "DELETE", "/api/v1/signup", "", "", "", 405, "method_not_allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := s.do(c.method, c.path, c.key, c.contentType, body)
			if r.Status != c.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, r.Status, r.Body, c.wantStatus)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			var p problem
			r.json(t, &p)
			if p.Code != c.wantCode || p.Status != c.wantStatus || p.Title == "" || p.Detail == "" {
				t.Errorf("problem = %+v, want code %s with status, title and detail", p, c.wantCode)
			}
			if c.wantField != "" && !hasField(p, c.wantField) {
				t.Errorf("problem fields = %+v, want one at %s", p.Errors, c.wantField)
			}
			if strings.Contains(strings.ToLower(string(r.Body)), "pq:") || strings.Contains(string(r.Body), "sql") {
				t.Errorf("problem leaks database text: %s", r.Body)
			}
		})
	}
}

func TestBytesPostgresCannotHoldInTextAreRefusedOrReplacedNotA500(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))

	r := s.do("POST", url, "", "application/json", `{}`, "Idempotency-Key", "a\xffb")
	if r.Status != 400 || !strings.Contains(r.String(), "header.Idempotency-Key") {
		t.Errorf("invalid UTF-8 delivery id = %d %s, want 400 naming the header", r.Status, r.Body)
	}
	status, id := s.post(url+"?x=%00", `{"order":{"id":"q","total":1}}`, "X-Odd", "a\xffb")
	if status != 202 {
		t.Fatalf("NUL in the query, invalid UTF-8 in a header = %d, want 202 (stored with U+FFFD)", status)
	}
	s.waitRun(acme.Key, id, "succeeded")
	// The Content-Type is stored as the other headers are, whether the run
	// is inserted alone or in a batch of its tenant's deliveries.
	status, id = s.post(url, `{"order":{"id":"ct","total":1}}`, "Content-Type", "application/json; charset=\xff")
	if status != 202 {
		t.Fatalf("invalid UTF-8 in the Content-Type = %d, want 202 (stored with U+FFFD)", status)
	}
	if r := s.waitRun(acme.Key, id, "succeeded"); r.Trigger.ContentType != "application/json; charset=\uFFFD" {
		t.Errorf("stored Content-Type = %q, want the invalid byte as U+FFFD", r.Trigger.ContentType)
	}
	// A step output Postgres cannot store is a permanent failure, not a retry loop.
	_, id = s.post(url, `{"order":{"id":"nul\u0000here","total":500}}`)
	if r := s.waitRun(acme.Key, id, "failed", "dead", "succeeded"); r.Status != "failed" || r.Attempt != 1 {
		t.Errorf("run whose output holds NUL = %s on attempt %d, want failed on attempt 1", r.Status, r.Attempt)
	}
}

func hasField(p problem, path string) bool {
	for _, f := range p.Errors {
		if f.Path == path {
			return true
		}
	}
	return false
}

func TestUnknownEndpointAnswersAreIndistinguishable(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	unknownTenant := s.do("POST", "/api/webhooks/"+uuid.NewString()+"/x", "", "application/json", `{}`)
	wrongToken := s.do("POST", "/api/webhooks/"+acme.ID+"/x", "", "application/json", `{}`)
	a, b := unknownTenant.String(), wrongToken.String()
	a = a[:strings.Index(a, `"request_id"`)]
	b = b[:strings.Index(b, `"request_id"`)]
	if unknownTenant.Status != 404 || a != b {
		t.Errorf("unknown tenant %+v and wrong token %+v differ; a sender must not tell them apart", a, b)
	}
	// Disabling the endpoint gives the very same answer, at once: the
	// delivery before it left the endpoint in the ingress's cache, and the
	// change through the API drops it.
	if r := s.do("POST", url, "", "application/json", `{}`); r.Status != 202 {
		t.Fatalf("delivery before disabling = %d %s, want 202", r.Status, r.Body)
	}
	ctx, api := context.Background(), s.client(acme.Key)
	e, err := api.ListEndpointsPage(ctx, aias.ListOptions{})
	if err != nil || len(e.Data) != 1 {
		t.Fatalf("ListEndpoints = %+v, %v", e, err)
	}
	if ep, err := api.UpdateEndpoint(ctx, e.Data[0].ID, aias.UpdateEndpointRequest{Enabled: aias.Ptr(false)}); err != nil || ep.Enabled {
		t.Fatalf("UpdateEndpoint(enabled false) = %+v, %v", ep, err)
	}
	disabled := s.do("POST", url, "", "application/json", `{}`)
	c := disabled.String()
	if disabled.Status != 404 || c[:strings.Index(c, `"request_id"`)] != a {
		t.Errorf("disabled endpoint = %d %s, want the same 404 as an unknown one", disabled.Status, c)
	}
}

func TestChunkedOversizeBodyIsCutAt413(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_MAX_BODY_BYTES": "2048"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"pad":"` + strings.Repeat("y", 8192) + `"}`))
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", url, pr) // unknown length: sent chunked
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversize body = %d, want 413", res.StatusCode)
	}
	runs, err := s.client(acme.Key).ListRunsPage(context.Background(), aias.RunFilter{})
	if err != nil || len(runs.Data) != 0 {
		t.Errorf("runs after a refused body = %d (%v), want 0", len(runs.Data), err)
	}
}

func TestRequestIDReachesEveryWorkerLineOfTheRun(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	r := s.do("POST", url, "", "application/json", `{"order":{"id":"R","total":500}}`, "X-Request-ID", "req-trace-42")
	if r.Status != 202 || r.Header.Get("X-Request-ID") != "req-trace-42" {
		t.Fatalf("POST = %d with X-Request-ID %q, want 202 echoing req-trace-42", r.Status, r.Header.Get("X-Request-ID"))
	}
	var acc struct {
		RunID string `json:"run_id"`
	}
	r.json(t, &acc)
	s.waitRun(acme.Key, acc.RunID, "succeeded")
	workerLines := 0
	for _, line := range strings.Split(s.logs.String(), "\n") {
		// Lines of the executing delivery; a sweep's redundant delivery of a
		// finished run logs "task skipped" and nothing else.
		if !strings.Contains(line, `"service":"worker"`) || !strings.Contains(line, acc.RunID) || strings.Contains(line, "task skipped") {
			continue
		}
		workerLines++
		for _, want := range []string{`"request_id":"req-trace-42"`, `"tenant_id":"` + acme.ID + `"`, `"attempt":1`} {
			if !strings.Contains(line, want) {
				t.Errorf("worker line lacks %s: %s", want, line)
			}
		}
	}
	if workerLines < 5 {
		t.Errorf("worker lines for the run = %d, want at least 5 (start, 4 steps, finish)", workerLines)
	}
	if strings.Contains(s.logs.String(), strings.TrimPrefix(url, s.base)) {
		t.Error("logs contain the intake URL with its secret token")
	}
}
