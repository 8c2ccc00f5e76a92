package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/pkg/aias"
)

// callbackReceiver is a tenant's endpoint for callbacks: it records every
// request and answers each path from a script (then 200).
type callbackReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []callbackRequest
	answers map[string][]int
}

type callbackRequest struct {
	Path   string
	Header http.Header
	Body   []byte
}

func newCallbackReceiver(t *testing.T, answers map[string][]int) *callbackReceiver {
	t.Helper()
	cr := &callbackReceiver{answers: answers}
	cr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cr.mu.Lock()
		cr.got = append(cr.got, callbackRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		status := http.StatusOK
		if script := cr.answers[r.URL.Path]; len(script) > 0 {
			status, cr.answers[r.URL.Path] = script[0], script[1:]
		}
		cr.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(cr.srv.Close)
	return cr
}

// at returns the requests to path so far.
func (cr *callbackReceiver) at(path string) []callbackRequest {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	var out []callbackRequest
	for _, r := range cr.got {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls until path received n requests.
func (cr *callbackReceiver) waitFor(t *testing.T, path string, n int) []callbackRequest {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if got := cr.at(path); len(got) >= n {
			return got
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("receiver got %d requests at %s, want %d", len(cr.at(path)), path, n)
	return nil
}

// verifies reports whether a receiver holding only secret accepts the
// request, checking it the way tenants do: with pkg/aias's VerifyCallback.
func (r callbackRequest) verifies(secret string) error {
	return aias.VerifyCallback(secret, r.Header, r.Body)
}

func (s *system) rotateCallbackSecret(key string) string {
	s.t.Helper()
	out, err := s.client(key).RotateCallbackSecret(context.Background(), aias.RotateCallbackSecretRequest{})
	if err != nil {
		s.t.Fatalf("RotateCallbackSecret: %v", err)
	}
	if !strings.HasPrefix(out.Secret, "whsec_") || !out.Configured {
		s.t.Fatalf("RotateCallbackSecret = %+v, want a whsec_ secret", out)
	}
	return out.Secret
}

// noticeState reads a run's on_finish state from Postgres.
func (s *system) noticeState(tn tenant, id string) (state string, attempts int) {
	s.t.Helper()
	var row struct {
		State    *string `db:"callback_state"`
		Attempts int     `db:"callback_attempts"`
	}
	err := s.db.InTenantTx(context.Background(), uuid.MustParse(tn.ID), func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &row, `SELECT callback_state, callback_attempts FROM runs WHERE id = $1`, id)
	})
	if err != nil {
		s.t.Fatalf("read notification of run %s: %v", id, err)
	}
	if row.State == nil {
		return "", row.Attempts
	}
	return *row.State, row.Attempts
}

func TestCallbackStepsAndOnFinishAreSignedAndOnFinishIsRetried(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	rcv := newCallbackReceiver(t, map[string][]int{"/finish": {http.StatusInternalServerError}})

	api := s.client(acme.Key)
	before, err := api.GetCallbackSecret(context.Background())
	if err != nil || before.Configured {
		t.Fatalf("GET before any secret = %+v, want configured false", before)
	}
	whsec := s.rotateCallbackSecret(acme.Key)
	res := s.do("GET", "/api/v1/callback-secret", acme.Key, "", nil)
	if res.Status != 200 || strings.Contains(res.String(), strings.TrimPrefix(whsec, "whsec_")[:16]) || strings.Contains(res.String(), `"secret"`) {
		t.Errorf("GET /api/v1/callback-secret = %d %s, want metadata without the value", res.Status, res.Body)
	}

	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: signed
on_finish: { url: "%[1]s/finish", statuses: [succeeded, failed] }
steps:
  - { name: calc, type: transform, with: { output: { total: "trigger.body.total * 2" } } }
  - { name: tell, type: callback, with: { url: "%[1]s/step", body: "steps.calc.output" } }
`, rcv.srv.URL)))
	_, id := s.post(url, `{"total":21}`)
	if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Fatalf("run = %s (%v), want succeeded", r.Status, r.Error)
	}

	step := rcv.waitFor(t, "/step", 1)[0]
	if err := step.verifies(whsec); err != nil {
		t.Errorf("callback step: VerifyCallback = %v, want the receiver to accept it", err)
	}
	if err := step.verifies("whsec_" + strings.Repeat("A", 43) + "="); !errors.Is(err, aias.ErrCallbackSignature) {
		t.Errorf("callback step checked with another secret: VerifyCallback = %v, want ErrCallbackSignature", err)
	}
	if string(step.Body) != `{"total":42}` || step.Header.Get("webhook-id") != id+":tell" {
		t.Errorf("callback step sent %s with webhook-id %q, want {\"total\":42} and %s:tell", step.Body, step.Header.Get("webhook-id"), id)
	}

	finish := rcv.waitFor(t, "/finish", 2)
	for i, r := range finish {
		if err := r.verifies(whsec); err != nil {
			t.Errorf("on_finish attempt %d: Verify = %v, want the receiver to accept it", i+1, err)
		}
		if got := r.Header.Get("webhook-id"); got != "run_"+id+":finish" {
			t.Errorf("on_finish attempt %d: webhook-id %q, want run_%s:finish on every attempt", i+1, got, id)
		}
	}
	body, err := aias.CallbackVerifier{Secrets: []string{whsec}}.ParseRunFinished(finish[1].Header, finish[1].Body)
	if err != nil || body.RunID != id || body.Status != aias.RunSucceeded ||
		body.WorkflowVersion != 1 || body.Attempt != 1 || body.FinishedAt == nil {
		t.Errorf("on_finish body %s (%v), want the run's outcome", finish[1].Body, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := s.noticeState(acme, id); st != "delivered" && time.Now().Before(deadline); st, _ = s.noticeState(acme, id) {
		time.Sleep(25 * time.Millisecond)
	}
	if st, n := s.noticeState(acme, id); st != "delivered" || n != 2 {
		t.Errorf("notification state %q after %d attempts, want delivered after 2", st, n)
	}
	found := false
	for e, err := range api.ListAuditEntries(context.Background(), aias.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || (e.Action == "callback_secret.rotate" && e.ObjectType == "callback_secret")
	}
	if !found {
		t.Error("audit log has no callback_secret.rotate entry")
	}
}

func TestARotatedCallbackSecretKeepsSigningDuringItsGrace(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	other := s.signup("other")
	rcv := newCallbackReceiver(t, nil)
	old := s.rotateCallbackSecret(acme.Key)
	current := s.rotateCallbackSecret(acme.Key)

	info, err := s.client(acme.Key).GetCallbackSecret(context.Background())
	if err != nil || !info.Configured || !info.PreviousInGrace || info.PreviousExpiresAt == nil ||
		time.Until(*info.PreviousExpiresAt) < 23*time.Hour || time.Until(*info.PreviousExpiresAt) > 25*time.Hour {
		t.Errorf("GET after a rotation = %+v, want the previous secret in grace for about 24h", info)
	}
	theirs, err := s.client(other.Key).GetCallbackSecret(context.Background())
	if err != nil || theirs.Configured {
		t.Errorf("another tenant's GET = %+v, want configured false", theirs)
	}
	member := s.client(s.mintKey(acme, "member"))
	if _, err := member.GetCallbackSecret(context.Background()); aias.CodeOf(err) != aias.CodeForbidden {
		t.Errorf("GetCallbackSecret as a member = %v, want forbidden", err)
	}
	if _, err := member.RotateCallbackSecret(context.Background(), aias.RotateCallbackSecretRequest{}); aias.CodeOf(err) != aias.CodeForbidden {
		t.Errorf("RotateCallbackSecret as a member = %v, want forbidden", err)
	}

	id := s.manualRun(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: rotated
steps: [ { name: tell, type: callback, with: { url: "%s/step" } } ]
`, rcv.srv.URL)))
	s.waitRun(acme.Key, id, "succeeded")
	r := rcv.waitFor(t, "/step", 1)[0]
	if n := len(strings.Fields(r.Header.Get("webhook-signature"))); n != 2 {
		t.Errorf("webhook-signature has %d signatures, want 2 during the grace", n)
	}
	for name, display := range map[string]string{"previous": old, "current": current} {
		if err := r.verifies(display); err != nil {
			t.Errorf("a receiver holding only the %s secret: Verify = %v, want accepted", name, err)
		}
	}
}

func TestAPlanWithoutCallbacksCannotSaveAWorkflowUsingThem(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	free := s.signupOn("frugal", "free")
	for _, c := range []struct{ yaml, path string }{
		{"name: a\nsteps: [ { name: tell, type: callback, with: { url: \"https://example.com/x\" } } ]\n", "steps[0].type"},
		{"name: b\non_finish: { url: \"https://example.com/x\" }\nsteps: [ { name: a, type: log, with: { message: hi } } ]\n", "on_finish"},
	} {
		res := s.do("POST", "/api/v1/workflows", free.Key, "application/yaml", c.yaml)
		var p struct {
			Errors []struct{ Path, Message string } `json:"errors"`
		}
		if res.Status == 400 {
			res.json(t, &p)
		}
		if res.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Path != c.path || !strings.Contains(p.Errors[0].Message, "not included in the free plan") {
			t.Errorf("save on the free plan = %d %s, want 400 at %s naming the plan", res.Status, res.Body, c.path)
		}
	}
}

func TestACanceledRunIsNotifiedWhenOnFinishAsks(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	defer slow.Close()
	defer close(release)
	s := start(t, options{})
	acme := s.signup("acme")
	whsec := s.rotateCallbackSecret(acme.Key)
	rcv := newCallbackReceiver(t, nil)
	id := s.manualRun(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: cancel-me
on_finish: { url: "%s/finish/{{ run.status }}", statuses: [canceled] }
steps: [ { name: slow, type: http, with: { url: "%s", timeout: 30s } } ]
`, rcv.srv.URL, slow.URL)))
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never started its step")
	}
	if _, err := s.client(acme.Key).CancelRun(context.Background(), id); err != nil {
		t.Fatalf("CancelRun: %v", err)
	}
	r := rcv.waitFor(t, "/finish/canceled", 1)[0]
	if err := r.verifies(whsec); err != nil {
		t.Errorf("Verify = %v, want the canceled notification signed", err)
	}
	if !strings.Contains(string(r.Body), `"status":"canceled"`) {
		t.Errorf("body %s, want status canceled", r.Body)
	}
}

// manualRun starts a run of a workflow through the API and returns its id.
func (s *system) manualRun(key, workflowID string) string {
	s.t.Helper()
	out, err := s.client(key).TriggerWorkflow(context.Background(), workflowID, map[string]any{})
	if err != nil {
		s.t.Fatalf("TriggerWorkflow: %v", err)
	}
	return out.RunID
}
