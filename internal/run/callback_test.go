package run_test

import (
	"context"
	"encoding/json"
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

	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/secret"
	"aias/internal/signature"
	"aias/internal/step"
)

// testKEK seals callback secrets in these tests (a test value, never a real key).
const testKEK = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// hook is a callback receiver that verifies every request it gets with the
// tenant's secret, the way a Standard Webhooks receiver would.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	answer []int // status per request, in order; then 200
}

type hookRequest struct {
	path     string
	header   http.Header
	body     []byte
	verified error
}

func newHook(t *testing.T, key signature.Secret, answers ...int) *hook {
	t.Helper()
	h := &hook{answer: answers}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := signature.Verify(signature.Settings{Scheme: signature.StandardWebhooks}, []signature.Secret{key},
			signature.Request{Header: r.Header, Body: body}, time.Now())
		h.mu.Lock()
		h.got = append(h.got, hookRequest{path: r.URL.Path, header: r.Header.Clone(), body: body, verified: err})
		status := http.StatusOK
		if n := len(h.got); n <= len(h.answer) {
			status = h.answer[n-1]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// withCallbackSecret gives the bundle's tenant a callback secret and the
// executor the keys that open it; it returns the secret's HMAC key.
func withCallbackSecret(t *testing.T, e *run.Executor, b bundle) signature.Secret {
	t.Helper()
	k, err := keyring.Parse(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	e.Keys = k
	var issued secret.IssuedCallbackSecret
	err = b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) (err error) {
		issued, err = secret.RotateCallbackSecret(context.Background(), q, k, b.tenant, secret.DefaultCallbackGrace)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	key, err := signature.KeyBytes(signature.StandardWebhooks, issued.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// noticeState reads the on_finish columns of a run.
type noticeState struct {
	State    *string    `db:"callback_state"`
	Attempts int        `db:"callback_attempts"`
	Error    *string    `db:"callback_error"`
	NextAt   *time.Time `db:"callback_next_at"`
}

func (b bundle) notice(t *testing.T, id uuid.UUID) noticeState {
	t.Helper()
	var n noticeState
	err := b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n,
			`SELECT callback_state, callback_attempts, callback_error, callback_next_at FROM runs WHERE id = $1`, id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (n noticeState) String() string {
	return fmt.Sprintf("state %s, %d attempts, error %q", deref(n.State), n.Attempts, deref(n.Error))
}

// fakeNotices records the notifications the executor enqueues.
type fakeNotices struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (f *fakeNotices) EnqueueNotify(_ context.Context, _, id uuid.UUID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, id)
	return nil
}

func (f *fakeNotices) enqueued() []uuid.UUID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uuid.UUID(nil), f.ids...)
}

func TestACallbackStepIsSignedWithTheTenantsSecret(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	key := withCallbackSecret(t, e, b)
	h := newHook(t, key)
	e.Deps.HTTPClient = h.srv.Client()
	id := b.newRun(t, fmt.Sprintf(`
name: cb
steps:
  - { name: calc, type: transform, with: { output: { total: "trigger.body.total * 2" } } }
  - { name: tell, type: callback, with: { url: "%s/step" } }
`, h.srv.URL))
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	if r, _ := b.get(t, id); r.Status != run.Succeeded {
		t.Fatalf("run = %s (%s), want succeeded", r.Status, deref(r.Error))
	}
	got := h.requests()
	if len(got) != 1 || got[0].verified != nil {
		t.Fatalf("receiver got %d requests (verified: %v), want one that verifies", len(got), got)
	}
	if want := id.String() + ":tell"; got[0].header.Get("webhook-id") != want {
		t.Errorf("webhook-id = %q, want %q", got[0].header.Get("webhook-id"), want)
	}
	var body struct {
		RunID   string         `json:"run_id"`
		Outputs map[string]any `json:"outputs"`
	}
	if err := json.Unmarshal(got[0].body, &body); err != nil || body.RunID != id.String() || body.Outputs["calc"] == nil {
		t.Errorf("body %s (%v), want the run id and the calc output", got[0].body, err)
	}
}

func TestACallbackStepWithoutASecretFailsTheRunSayingHowToCreateOne(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	k, err := keyring.Parse(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	e.Keys = k
	h := newHook(t, signature.Secret("unused"))
	id := b.newRun(t, fmt.Sprintf(`
name: cb
steps:
  - { name: tell, type: callback, with: { url: "%s/step" } }
`, h.srv.URL))
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	r, _ := b.get(t, id)
	if r.Status != run.Failed || !strings.Contains(deref(r.Error), "POST /api/v1/callback-secret") {
		t.Errorf("run = %s (%s), want failed naming POST /api/v1/callback-secret", r.Status, deref(r.Error))
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("receiver got %d unsigned requests, want none", n)
	}
}

func TestOnFinishIsMarkedPendingWithTheOutcomeAndEnqueued(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	notices := &fakeNotices{}
	e.Notices = notices
	wanted := b.newRun(t, `
name: wanted
on_finish: { url: "https://example.com/done", statuses: [succeeded] }
steps: [ { name: a, type: transform, with: { output: "1" } } ]
`)
	unwanted := b.newRun(t, `
name: unwanted
on_finish: { url: "https://example.com/done", statuses: [failed, dead] }
steps: [ { name: a, type: transform, with: { output: "1" } } ]
`)
	for _, id := range []uuid.UUID{wanted, unwanted} {
		if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
			t.Fatalf("Execute = %v", err)
		}
	}
	if n := b.notice(t, wanted); deref(n.State) != "pending" || n.NextAt == nil {
		t.Errorf("wanted notification: %s, want pending and due", n)
	}
	if n := b.notice(t, unwanted); n.State != nil {
		t.Errorf("notification for a status on_finish does not ask for: %s, want none", n)
	}
	if got := notices.enqueued(); len(got) != 1 || got[0] != wanted {
		t.Errorf("enqueued %v, want only %s", got, wanted)
	}
}

func TestACanceledRunsNotificationIsPendingToo(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	id := b.newRun(t, `
name: cancel-me
on_finish: { url: "https://example.com/done", statuses: [canceled] }
steps: [ { name: a, type: transform, with: { output: "1" } } ]
`)
	err := b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		_, err := run.Cancel(context.Background(), q, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.notice(t, id); deref(n.State) != "pending" {
		t.Errorf("canceled run's notification: %s, want pending", n)
	}
}

// finishedRun stores a run with on_finish and executes it to succeeded.
func finishedRun(t *testing.T, e *run.Executor, b bundle, url string) uuid.UUID {
	t.Helper()
	id := b.newRun(t, fmt.Sprintf(`
name: notified-%s
on_finish: { url: "%s/finish/{{ run.status }}" }
steps: [ { name: a, type: transform, with: { output: "1" } } ]
`, uuid.NewString()[:8], url))
	if err := e.Execute(context.Background(), b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute = %v", err)
	}
	return id
}

func TestOnFinishIsDeliveredSignedAndRetriedAfterA5xx(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	key := withCallbackSecret(t, e, b)
	h := newHook(t, key, http.StatusInternalServerError)
	e.Deps.HTTPClient = h.srv.Client()
	id := finishedRun(t, e, b, h.srv.URL)

	err := e.Notify(context.Background(), b.tenant, id, false)
	var retry *run.NotifyRetry
	if !errors.As(err, &retry) || retry.Wait <= 0 {
		t.Fatalf("Notify after a 500 = %v, want a NotifyRetry with a wait", err)
	}
	if after, ok := step.RetryAfterOf(err); !ok || after != retry.Wait {
		t.Errorf("RetryAfterOf = %v, %v; want the retry's wait for the queue", after, ok)
	}
	if n := b.notice(t, id); deref(n.State) != "pending" || n.Attempts != 1 || !strings.Contains(deref(n.Error), "500") {
		t.Errorf("after the 500: %s, want pending, 1 attempt, the error", n)
	}
	if err := e.Notify(context.Background(), b.tenant, id, false); err != nil {
		t.Fatalf("second Notify = %v, want delivered", err)
	}
	if n := b.notice(t, id); deref(n.State) != "delivered" || n.Attempts != 2 {
		t.Errorf("after delivery: %s, want delivered in 2 attempts", n)
	}
	got := h.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	for _, r := range got {
		if r.verified != nil || r.header.Get("webhook-id") != run.NoticeID(id, 1) || r.path != "/finish/succeeded" {
			t.Errorf("request %s id %q verified %v; want /finish/succeeded, id %s, verified", r.path, r.header.Get("webhook-id"), r.verified, run.NoticeID(id, 1))
		}
	}
	var body run.Notice
	if err := json.Unmarshal(got[1].body, &body); err != nil || body.RunID != id || body.Status != run.Succeeded || body.FinishedAt == nil {
		t.Errorf("body %s (%v), want the run's outcome", got[1].body, err)
	}
	if err := e.Notify(context.Background(), b.tenant, id, false); err != nil || len(h.requests()) != 2 {
		t.Errorf("Notify of a delivered notification = %v with %d requests, want nothing sent", err, len(h.requests()))
	}
}

func TestOnFinishGivesUpOnA4xxOrAfterItsLastAttempt(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	key := withCallbackSecret(t, e, b)
	refused := newHook(t, key, http.StatusGone)
	e.Deps.HTTPClient = http.DefaultClient
	id := finishedRun(t, e, b, refused.srv.URL)
	if err := e.Notify(context.Background(), b.tenant, id, false); err != nil {
		t.Fatalf("Notify after a 410 = %v, want nil (failed for good)", err)
	}
	if n := b.notice(t, id); deref(n.State) != "failed" || !strings.Contains(deref(n.Error), "410") {
		t.Errorf("after a 410: %s, want failed with the status", n)
	}

	down := newHook(t, key, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
	id = finishedRun(t, e, b, down.srv.URL)
	for i := 1; i < run.MaxNotifyAttempts; i++ {
		if err := e.Notify(context.Background(), b.tenant, id, false); err == nil {
			t.Fatalf("attempt %d = nil, want a retry", i)
		}
	}
	if err := e.Notify(context.Background(), b.tenant, id, false); err != nil {
		t.Fatalf("last attempt = %v, want nil (failed for good)", err)
	}
	if n := b.notice(t, id); deref(n.State) != "failed" || n.Attempts != run.MaxNotifyAttempts {
		t.Errorf("after %d attempts: %s, want failed", run.MaxNotifyAttempts, n)
	}

	// The queue's last chance ends a retryable failure too.
	id = finishedRun(t, e, b, newHook(t, key, 503).srv.URL)
	if err := e.Notify(context.Background(), b.tenant, id, true); err != nil {
		t.Fatalf("Notify on the last chance = %v, want nil", err)
	}
	if n := b.notice(t, id); deref(n.State) != "failed" {
		t.Errorf("after the last chance: %s, want failed", n)
	}
}

func TestOnFinishWithoutASecretFailsSayingHowToCreateOne(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	k, err := keyring.Parse(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	e.Keys = k
	h := newHook(t, signature.Secret("unused"))
	id := finishedRun(t, e, b, h.srv.URL)
	if err := e.Notify(context.Background(), b.tenant, id, false); err != nil {
		t.Fatalf("Notify = %v, want nil (failed for good)", err)
	}
	if n := b.notice(t, id); deref(n.State) != "failed" || !strings.Contains(deref(n.Error), "POST /api/v1/callback-secret") {
		t.Errorf("notification: %s, want failed naming POST /api/v1/callback-secret", n)
	}
	if len(h.requests()) != 0 {
		t.Error("an unsigned notification was sent")
	}
}

type nopReviver struct{}

func (nopReviver) Revive(context.Context, uuid.UUID, uuid.UUID) error { return nil }

// Receivers drop a webhook-id they have seen: a re-driven run that ends
// again is announced under an id of its own, or its new outcome is lost.
func TestARedrivenRunIsNotifiedAgainUnderANewID(t *testing.T) {
	t.Parallel()
	e, b := setup(t)
	key := withCallbackSecret(t, e, b)
	h := newHook(t, key, http.StatusInternalServerError) // the step's first call; then 200
	e.Deps.HTTPClient = h.srv.Client()
	id := b.newRun(t, fmt.Sprintf(`
name: redriven
max_attempts: 1
on_finish: { url: "%[1]s/finish/{{ run.status }}" }
steps: [ { name: call, type: http, with: { url: "%[1]s/step" } } ]
`, h.srv.URL))
	ctx := context.Background()
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); !errors.Is(err, run.ErrExhausted) {
		t.Fatalf("Execute = %v, want the run dead after its only attempt", err)
	}
	if err := e.Notify(ctx, b.tenant, id, false); err != nil {
		t.Fatalf("Notify of the dead run = %v", err)
	}
	if err := run.Redrive(ctx, b.db.DB, nopReviver{}, b.tenant, id, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Execute(ctx, b.tenant, id, run.Attempt{}); err != nil {
		t.Fatalf("Execute after the redrive = %v", err)
	}
	if err := e.Notify(ctx, b.tenant, id, false); err != nil {
		t.Fatalf("Notify of the re-driven run = %v", err)
	}
	var ids []string
	for _, r := range h.requests() {
		if strings.HasPrefix(r.path, "/finish/") {
			ids = append(ids, r.path+" "+r.header.Get("webhook-id"))
		}
	}
	want := []string{"/finish/dead run_" + id.String() + ":finish", "/finish/succeeded run_" + id.String() + ":finish:2"}
	if strings.Join(ids, ", ") != strings.Join(want, ", ") {
		t.Errorf("notifications %v, want %v", ids, want)
	}
}
