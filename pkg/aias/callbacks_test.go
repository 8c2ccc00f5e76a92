package aias_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"aias/pkg/aias"
)

// The receiver side is tested against the Standard Webhooks reference
// library here, and against what AIAS's worker really sends in
// internal/e2e (callbacks_test.go).

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

var at = time.Unix(1_700_000_000, 0)

func signed(t *testing.T, secrets []string, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	var sigs []string
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return h
}

func TestVerifyCallbackAcceptsWhatTheReferenceLibrarySigns(t *testing.T) {
	t.Parallel()
	body := []byte(`{"run_id":"r","status":"succeeded"}`)
	h := signed(t, []string{secretA}, "run_r:finish", time.Now(), body)
	if err := aias.VerifyCallback(secretA, h, body); err != nil {
		t.Errorf("VerifyCallback = %v, want accepted", err)
	}
	if err := aias.VerifyCallback(secretB, h, body); !errors.Is(err, aias.ErrCallbackSignature) {
		t.Errorf("VerifyCallback with another secret = %v, want ErrCallbackSignature", err)
	}
	if err := aias.VerifyCallback(secretA, h, append(body, ' ')); !errors.Is(err, aias.ErrCallbackSignature) {
		t.Errorf("VerifyCallback of a changed body = %v, want ErrCallbackSignature", err)
	}
}

func TestDuringARotationEitherSecretVerifies(t *testing.T) {
	t.Parallel()
	body := []byte(`{}`)
	h := signed(t, []string{secretB, secretA}, "r:tell", at, body) // current first, as AIAS sends
	now := func() time.Time { return at }
	for _, s := range []string{secretA, secretB} {
		if err := (aias.CallbackVerifier{Secrets: []string{s}, Now: now}).Verify(h, body); err != nil {
			t.Errorf("a receiver holding only %s…: %v, want accepted", s[:10], err)
		}
	}
	receiverRotating := aias.CallbackVerifier{Secrets: []string{"whsec_" + "AAAA", secretA}, Now: now}
	if err := receiverRotating.Verify(signed(t, []string{secretA}, "x", at, body), body); err != nil {
		t.Errorf("a receiver holding two secrets, the second one signing: %v", err)
	}
}

func TestACallbackOutsideTheToleranceOrWithoutItsHeadersIsRefused(t *testing.T) {
	t.Parallel()
	body := []byte(`{}`)
	v := aias.CallbackVerifier{Secrets: []string{secretA}, Now: func() time.Time { return at }}
	for name, ts := range map[string]time.Time{"stale": at.Add(-6 * time.Minute), "future": at.Add(6 * time.Minute)} {
		if err := v.Verify(signed(t, []string{secretA}, "x", ts, body), body); !errors.Is(err, aias.ErrCallbackTimestamp) {
			t.Errorf("%s timestamp: %v, want ErrCallbackTimestamp", name, err)
		}
	}
	wide := v
	wide.Tolerance = 10 * time.Minute
	if err := wide.Verify(signed(t, []string{secretA}, "x", at.Add(-6*time.Minute), body), body); err != nil {
		t.Errorf("6 minutes old under a 10-minute tolerance: %v, want accepted", err)
	}
	h := signed(t, []string{secretA}, "x", at, body)
	h.Del("webhook-id")
	if err := v.Verify(h, body); !errors.Is(err, aias.ErrCallbackHeaders) {
		t.Errorf("without webhook-id: %v, want ErrCallbackHeaders", err)
	}
	if err := (aias.CallbackVerifier{Secrets: []string{"not-a-secret"}, Now: v.Now}).Verify(signed(t, []string{secretA}, "x", at, body), body); !errors.Is(err, aias.ErrCallbackSecret) {
		t.Errorf("a secret without whsec_: %v, want ErrCallbackSecret", err)
	}
}

func TestSignCallbackSignsWhatTheReferenceLibraryVerifies(t *testing.T) {
	t.Parallel()
	body := []byte(`{"a":1}`)
	sig, err := aias.SignCallback(secretA, "id-1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secretA)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "id-1")
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sig)
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		t.Errorf("the reference library refuses SignCallback's signature: %v", err)
	}
}

func TestTheHandlerPassesOnlyVerifiedRequestsWithTheirBody(t *testing.T) {
	t.Parallel()
	var got string
	h := aias.CallbackVerifier{Secrets: []string{secretA}}.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	body := `{"run_id":"r"}`
	good := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	good.Header = signed(t, []string{secretA}, "x", time.Now(), []byte(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, good)
	if rec.Code != 200 || got != body {
		t.Errorf("a signed request: %d, the handler read %q; want 200 and the body", rec.Code, got)
	}
	got = ""
	bad := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	bad.Header = signed(t, []string{secretB}, "x", time.Now(), []byte(body))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, bad)
	if rec.Code != http.StatusUnauthorized || got != "" {
		t.Errorf("a request signed with another secret: %d (handler read %q), want 401 and the handler not called", rec.Code, got)
	}
}
