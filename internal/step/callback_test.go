package step

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"aias/internal/signature"
)

var swSettings = signature.Settings{Scheme: signature.StandardWebhooks}

// testSigner signs like the worker's signer: one v1 signature per key.
type testSigner []signature.Secret

func (k testSigner) Sign(id string, ts time.Time, body []byte) (string, error) {
	var sigs []string
	for _, key := range k {
		h, err := signature.Sign(swSettings, key, id, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, h.Get(HeaderWebhookSignature))
	}
	return strings.Join(sigs, " "), nil
}

type failingSigner struct{ err error }

func (f failingSigner) Sign(string, time.Time, []byte) (string, error) { return "", f.err }

func newKey(t *testing.T) (string, signature.Secret) {
	t.Helper()
	display, err := signature.NewSecret(signature.StandardWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signature.KeyBytes(signature.StandardWebhooks, display)
	if err != nil {
		t.Fatal(err)
	}
	return display, key
}

// received is one request a callback receiver saw.
type received struct {
	header http.Header
	body   []byte
}

// receiver answers with handle and hands every request to the test.
func receiver(t *testing.T, handle http.HandlerFunc) (*httptest.Server, <-chan received) {
	t.Helper()
	seen := make(chan received, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- received{header: r.Header.Clone(), body: body}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func verify(t *testing.T, rec received, keys ...signature.Secret) {
	t.Helper()
	res, err := signature.Verify(swSettings, keys, signature.Request{Header: rec.header, Body: rec.body}, time.Now())
	if err != nil {
		t.Fatalf("Verify(standard-webhooks) = %v, want the receiver to accept the callback", err)
	}
	if res.DeliveryID != rec.header.Get(HeaderWebhookID) {
		t.Errorf("verified delivery id = %q, want the webhook-id %q", res.DeliveryID, rec.header.Get(HeaderWebhookID))
	}
}

func runCallback(t *testing.T, deps Deps, with map[string]any) (Result, error) {
	t.Helper()
	return mustLookup(t, "callback").Run(context.Background(), deps, with, testEnv())
}

func TestCallbackIsSignedSoAStandardWebhooksReceiverAcceptsIt(t *testing.T) {
	t.Parallel()
	_, key := newKey(t)
	srv, seen := receiver(t, status(http.StatusNoContent))
	res, err := runCallback(t, Deps{HTTPClient: srv.Client(), CallbackSigner: testSigner{key}}, map[string]any{"url": srv.URL + "/done"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec := <-seen
	verify(t, rec, key)
	if got := rec.header.Get(HeaderWebhookID); got != "run-1:notify" {
		t.Errorf("webhook-id = %q, want run-1:notify (stable per run and step)", got)
	}
	if got := rec.header.Get("Idempotency-Key"); got != "run-1:notify" {
		t.Errorf("Idempotency-Key = %q, want run-1:notify", got)
	}
	if got := rec.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.body, &body); err != nil {
		t.Fatalf("default body %s is not JSON: %v", rec.body, err)
	}
	want := map[string]any{"run_id": "run-1", "workflow_version": 3.0, "step": "notify",
		"outputs": map[string]any{"normalize": map[string]any{"id": "o-1", "total": 180.0}}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("default body mismatch (-want +got):\n%s", diff)
	}
	if out := res.Output.(map[string]any); out["status"] != 204 {
		t.Errorf("output status = %v, want 204", out["status"])
	}
	if len(res.Logs) != 1 || res.Logs[0].Message != "callback request" {
		t.Errorf("logs = %+v, want one callback request line", res.Logs)
	}
}

func TestCallbackSendsTheEvaluatedBodyAndHeadersAsSigned(t *testing.T) {
	t.Parallel()
	_, key := newKey(t)
	srv, seen := receiver(t, status(http.StatusOK))
	deps := Deps{HTTPClient: srv.Client(), CallbackSigner: testSigner{key}}
	cases := []struct {
		body     any
		wantBody string
		wantType string
	}{
		{map[string]any{"order": "steps.normalize.output.id", "ok": "true"}, `{"ok":true,"order":"o-1"}`, "application/json"},
		{"'plain ' + trigger.body.order.id", "plain o-1", "text/plain"},
	}
	for _, c := range cases {
		with := map[string]any{"url": srv.URL, "body": c.body,
			"headers": map[string]any{"X-Order": "{{ trigger.body.order.id }}", "Content-Type": "text/plain"}}
		if c.wantType == "application/json" {
			delete(with["headers"].(map[string]any), "Content-Type")
		}
		if _, err := runCallback(t, deps, with); err != nil {
			t.Fatalf("Run(body %v): %v", c.body, err)
		}
		rec := <-seen
		verify(t, rec, key)
		if string(rec.body) != c.wantBody || rec.header.Get("Content-Type") != c.wantType || rec.header.Get("X-Order") != "o-1" {
			t.Errorf("body %v sent as %q (%s, X-Order %q), want %q (%s, X-Order o-1)",
				c.body, rec.body, rec.header.Get("Content-Type"), rec.header.Get("X-Order"), c.wantBody, c.wantType)
		}
	}
}

func TestCallbackDuringRotationCarriesASignatureForEachSecret(t *testing.T) {
	t.Parallel()
	_, current := newKey(t)
	_, previous := newKey(t)
	srv, seen := receiver(t, status(http.StatusOK))
	if _, err := runCallback(t, Deps{HTTPClient: srv.Client(), CallbackSigner: testSigner{current, previous}}, map[string]any{"url": srv.URL}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec := <-seen
	if n := len(strings.Fields(rec.header.Get(HeaderWebhookSignature))); n != 2 {
		t.Errorf("webhook-signature has %d entries, want 2", n)
	}
	verify(t, rec, current)
	verify(t, rec, previous)
	_, stranger := newKey(t)
	if _, err := signature.Verify(swSettings, []signature.Secret{stranger}, signature.Request{Header: rec.header, Body: rec.body}, time.Now()); err == nil {
		t.Error("Verify with an unrelated secret succeeded, want a refusal")
	}
}

func TestCallbackAnswersAreClassifiedLikeHTTPSteps(t *testing.T) {
	t.Parallel()
	_, key := newKey(t)
	cases := []struct {
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration // 0: no Retry-After
	}{
		{http.StatusBadRequest, "", true, 0},
		{http.StatusUnauthorized, "", true, 0},
		{http.StatusNotFound, "", true, 0},
		{http.StatusRequestTimeout, "", false, 0},
		{http.StatusTooManyRequests, "7", false, 7 * time.Second},
		{http.StatusInternalServerError, "", false, 0},
		{http.StatusServiceUnavailable, "120", false, 2 * time.Minute},
	}
	for _, c := range cases {
		srv, _ := receiver(t, func(w http.ResponseWriter, _ *http.Request) {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			w.WriteHeader(c.status)
		})
		res, err := runCallback(t, Deps{HTTPClient: srv.Client(), CallbackSigner: testSigner{key}}, map[string]any{"url": srv.URL})
		if err == nil || IsPermanent(err) != c.permanent {
			t.Errorf("status %d: err = %v (permanent %v), want permanent = %v", c.status, err, IsPermanent(err), c.permanent)
		}
		wait, ok := RetryAfterOf(err)
		if (c.wait != 0) != ok || wait != c.wait {
			t.Errorf("status %d: RetryAfterOf = %v, %v; want %v", c.status, wait, ok, c.wait)
		}
		if out, _ := res.Output.(map[string]any); out["status"] != c.status {
			t.Errorf("status %d: output %v, want the answer recorded", c.status, res.Output)
		}
	}
}

func TestCallbackNetworkFailuresAreRetryable(t *testing.T) {
	t.Parallel()
	_, key := newKey(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := runCallback(t, Deps{HTTPClient: http.DefaultClient, CallbackSigner: testSigner{key}}, map[string]any{"url": url})
	mustRetryable(t, err)
}

func TestCallbackWithoutASecretFailsPermanentlyAndSaysWhatToDo(t *testing.T) {
	t.Parallel()
	srv, seen := receiver(t, status(http.StatusOK))
	for name, signer := range map[string]CallbackSigner{
		"no signer":        nil,
		"no secret stored": failingSigner{fmt.Errorf("load: %w", ErrNoCallbackSecret)},
	} {
		_, err := runCallback(t, Deps{HTTPClient: srv.Client(), CallbackSigner: signer}, map[string]any{"url": srv.URL})
		mustPermanent(t, err)
		if !strings.Contains(err.Error(), "POST /api/v1/callback-secret") {
			t.Errorf("%s: error %q, want it to name POST /api/v1/callback-secret", name, err)
		}
	}
	// An unreadable secret (an operator's key missing) is retried.
	_, err := runCallback(t, Deps{HTTPClient: srv.Client(), CallbackSigner: failingSigner{errors.New("secret cannot be decrypted")}}, map[string]any{"url": srv.URL})
	mustRetryable(t, err)
	select {
	case <-seen:
		t.Error("an unsigned callback was sent")
	default:
	}
}

func TestCallbackValidationReportsEachProblemAtItsPath(t *testing.T) {
	t.Parallel()
	placement := "secrets may only be used in an http step's url, headers and body"
	cases := []struct {
		name    string
		with    map[string]any
		path    string
		message string
	}{
		{"url missing", map[string]any{}, "steps[1].with.url", "is required"},
		{"not http", map[string]any{"url": "ftp://example.com/x"}, "steps[1].with.url", "absolute http or https URL"},
		{"relative", map[string]any{"url": "/hooks"}, "steps[1].with.url", "absolute http or https URL"},
		{"template of another scheme", map[string]any{"url": "ftp://{{ trigger.body.host }}/x"}, "steps[1].with.url", "absolute http or https URL"},
		{"template that does not compile", map[string]any{"url": "https://x/{{ trigger.body. }}"}, "steps[1].with.url", "invalid expression"},
		{"secret in url", map[string]any{"url": "https://x/{{ secrets.TOKEN }}"}, "steps[1].with.url", placement},
		{"secret in body", map[string]any{"url": "https://x", "body": map[string]any{"t": "secrets.TOKEN"}}, "steps[1].with.body.t", placement},
		{"secret in header", map[string]any{"url": "https://x", "headers": map[string]any{"Authorization": "Bearer {{ secrets.TOKEN }}"}}, "steps[1].with.headers.Authorization", placement},
		{"signature header", map[string]any{"url": "https://x", "headers": map[string]any{"Webhook-Signature": "v1,x"}}, "steps[1].with.headers.Webhook-Signature", "set by AIAS"},
		{"bad header name", map[string]any{"url": "https://x", "headers": map[string]any{"Bad Name": "x"}}, `steps[1].with.headers["Bad Name"]`, "not a valid header name"},
		{"unknown field", map[string]any{"url": "https://x", "method": "PUT"}, "steps[1].with.method", "unknown field"},
	}
	typ := mustLookup(t, "callback")
	for _, c := range cases {
		problems := typ.Validate(c.with, "steps[1].with")
		found := false
		for _, p := range problems {
			if p.Path == c.path && strings.Contains(p.Message, c.message) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: Validate = %v, want %q at %s", c.name, problems, c.message, c.path)
		}
	}
	ok := []map[string]any{
		{"url": "https://example.com/hooks"},
		{"url": "{{ trigger.body.callback_url }}"},
		{"url": "https://{{ trigger.body.host }}/done", "body": "steps.normalize.output", "headers": map[string]any{"X-Run": "{{ run.id }}"}},
	}
	for _, with := range ok {
		if problems := typ.Validate(with, "steps[1].with"); len(problems) > 0 {
			t.Errorf("Validate(%v) = %v, want no problems", with, problems)
		}
	}
}

func TestCallbackInsideAForeachHasAWebhookIDPerIteration(t *testing.T) {
	t.Parallel()
	_, key := newKey(t)
	srv, seen := receiver(t, status(http.StatusOK))
	env := testEnv()
	env["item"], env["index"] = "x", 2
	env["step"] = map[string]any{"name": "notify", "instance": "notify[1][2]"} // set so by the worker
	_, err := mustLookup(t, "callback").Run(context.Background(), Deps{HTTPClient: srv.Client(), CallbackSigner: testSigner{key}},
		map[string]any{"url": srv.URL, "body": "item"}, env)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec := <-seen
	verify(t, rec, key)
	if got := rec.header.Get(HeaderWebhookID); got != "run-1:notify[1][2]" {
		t.Errorf("webhook-id = %q, want run-1:notify[1][2]", got)
	}
}
