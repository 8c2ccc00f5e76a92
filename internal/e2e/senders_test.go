package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aias/internal/postgres"
	"aias/internal/signature"
	"aias/pkg/aias"
)

// signedEndpoint creates an endpoint with a verification block and returns
// its URL, id and the signing secret shown once.
// The block is written as JSON, as a sender's documentation gives it.
func (s *system) signedEndpoint(key, workflowID string, verification map[string]any) (url, id, secret string) {
	s.t.Helper()
	var v aias.VerificationInput
	if b, err := json.Marshal(verification); err != nil || json.Unmarshal(b, &v) != nil {
		s.t.Fatalf("verification %v is no VerificationInput", verification)
	}
	e, err := s.client(key).CreateEndpoint(context.Background(), aias.CreateEndpointRequest{WorkflowID: workflowID, Name: "signed", Verification: &v})
	if err != nil {
		s.t.Fatalf("CreateEndpoint: %v", err)
	}
	return e.URL, e.ID, e.SigningSecret
}

// signed builds the headers a sender would send.
func signed(t *testing.T, settings signature.Settings, secret, id string, ts time.Time, body string) []string {
	t.Helper()
	key, err := signature.KeyBytes(settings.Scheme, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := settings.Normalize(); err != nil {
		t.Fatal(err)
	}
	h, err := signature.Sign(settings, key, id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var kv []string
	for k, vs := range h {
		kv = append(kv, k, vs[0])
	}
	return kv
}

const echoWorkflow = `
name: echo
steps:
  - name: seen
    type: transform
    with:
      output: { body: "trigger.body", raw: "trigger.raw", delivery: "trigger.delivery_id" }
`

func TestEverySchemeAcceptsItsSignatureAndRefusesAForgery(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, echoWorkflow)
	schemes := []struct {
		verification map[string]any
		settings     signature.Settings
		deliveryID   string
		body         string
	}{
		{map[string]any{"scheme": "standard-webhooks"}, signature.Settings{Scheme: "standard-webhooks"}, "msg_1", `{"type":"a"}`},
		{map[string]any{"scheme": "stripe", "secret": "whsec_provided_by_stripe_1234"}, signature.Settings{Scheme: "stripe"}, "evt_1", `{"id":"evt_1","type":"invoice.paid"}`},
		{map[string]any{"scheme": "github"}, signature.Settings{Scheme: "github"}, "gh-delivery-1", `{"action":"opened"}`},
		{map[string]any{"scheme": "slack"}, signature.Settings{Scheme: "slack"}, "Ev1", `{"type":"event_callback","event_id":"Ev1"}`},
		{map[string]any{"scheme": "shopify"}, signature.Settings{Scheme: "shopify"}, "shop-1", `{"id":1}`},
		{map[string]any{"scheme": "hmac", "header": "X-Sig", "algorithm": "sha512", "encoding": "base64", "prefix": "sha512=", "delivery_id_header": "X-Id"},
			signature.Settings{Scheme: "hmac", Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512=", DeliveryIDHeader: "X-Id"}, "h-1", `{"k":"v"}`},
	}
	for _, sc := range schemes {
		t.Run(sc.settings.Scheme, func(t *testing.T) {
			url, id, secret := s.signedEndpoint(acme.Key, wf, sc.verification)
			if secret == "" {
				t.Fatal("creation did not return the signing secret")
			}
			if want, ok := sc.verification["secret"]; ok && secret != want {
				t.Errorf("signing_secret = %q, want the supplied %q", secret, want)
			}
			headers := signed(t, sc.settings, secret, sc.deliveryID, time.Now(), sc.body)
			status, runID := s.post(url, sc.body, headers...)
			if status != 202 {
				t.Fatalf("signed delivery = %d, want 202", status)
			}
			again, sameRun := s.post(url, sc.body, headers...)
			if again != 200 || sameRun != runID {
				t.Errorf("the same delivery again = %d %s, want 200 with run %s", again, sameRun, runID)
			}
			s.waitRun(acme.Key, runID, "succeeded")

			forged := signed(t, sc.settings, strings.Replace(secret, secret[len(secret)-4:], "AAAA", 1), sc.deliveryID+"x", time.Now(), sc.body)
			r := s.do("POST", url, "", "application/json", sc.body, forged...)
			if r.Status != 401 || !strings.Contains(r.String(), `"code":"invalid_signature"`) {
				t.Errorf("forged delivery = %d %s, want 401 invalid_signature", r.Status, r.Body)
			}
			unsigned := s.do("POST", url, "", "application/json", sc.body)
			if unsigned.Status != 401 || problemBody(unsigned) != problemBody(r) {
				t.Errorf("unsigned delivery = %d %s; want the very same 401 as a forgery", unsigned.Status, unsigned.Body)
			}
			log, err := s.client(acme.Key).ListEndpointRejectionsPage(context.Background(), id, aias.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			reasons := fmt.Sprint(log.Data)
			if len(log.Data) != 2 || !strings.Contains(reasons, "bad_signature") || !strings.Contains(reasons, "missing_header") {
				t.Errorf("rejections = %s, want bad_signature and missing_header", reasons)
			}
			if strings.Contains(reasons, secret) {
				t.Error("the rejection log contains the signing secret")
			}
		})
	}
}

// problemBody drops the request id, the one field that differs per request.
func problemBody(r response) string {
	b := r.String()
	if i := strings.Index(b, `"request_id"`); i > 0 {
		return b[:i]
	}
	return b
}

func TestSlackURLVerificationIsAnsweredWithoutARun(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url, _, secret := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "slack"})
	body := `{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`
	r := s.do("POST", url, "", "application/json", body, signed(t, signature.Settings{Scheme: "slack"}, secret, "", time.Now(), body)...)
	if r.Status != 200 || !strings.Contains(r.String(), "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
		t.Fatalf("url_verification = %d %s, want 200 with the challenge", r.Status, r.Body)
	}
	runs, err := s.client(acme.Key).ListRunsPage(context.Background(), aias.RunFilter{})
	if err != nil || len(runs.Data) != 0 {
		t.Errorf("runs after the handshake = %d (%v), want 0", len(runs.Data), err)
	}
}

func TestRotationKeepsTheOldSecretForItsGraceThenDropsIt(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	settings := signature.Settings{Scheme: "github"}
	url, id, old := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "github"})
	post := func(secret, delivery string) int {
		body := `{"delivery":"` + delivery + `"}` // one body per delivery: a repeated body is a replay
		st, _ := s.post(url, body, signed(t, settings, secret, delivery, time.Now(), body)...)
		return st
	}
	ctx, api := context.Background(), s.client(acme.Key)
	rotated, err := api.RotateEndpoint(ctx, id, aias.RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(time.Hour))})
	if err != nil || rotated.SigningSecret == "" || rotated.SigningSecret == old || len(rotated.SigningSecrets) != 2 {
		t.Fatalf("rotate = %+v, want a new secret and two live ones", rotated)
	}
	if st := post(old, "d1"); st != 202 {
		t.Errorf("old secret within grace = %d, want 202", st)
	}
	if st := post(rotated.SigningSecret, "d2"); st != 202 {
		t.Errorf("new secret = %d, want 202", st)
	}
	newer := rotated.SigningSecret
	rotated, err = api.RotateEndpoint(ctx, id, aias.RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(0))})
	if err != nil {
		t.Fatal(err)
	}
	if st := post(newer, "d3"); st != 401 {
		t.Errorf("secret rotated out with grace 0 = %d, want 401", st)
	}
	if st := post(old, "d4"); st != 401 {
		t.Errorf("first secret after a second rotation with grace 0 = %d, want 401", st)
	}
	if st := post(rotated.SigningSecret, "d5"); st != 202 {
		t.Errorf("current secret = %d, want 202", st)
	}
}

func TestTokenRotationKeepsTheOldURLForItsGrace(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	oldURL := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow))
	ctx, api := context.Background(), s.client(acme.Key)
	e, err := api.ListEndpointsPage(ctx, aias.ListOptions{})
	if err != nil || len(e.Data) != 1 {
		t.Fatalf("ListEndpoints = %+v, %v; want the endpoint", e, err)
	}
	rotated, err := api.RotateEndpoint(ctx, e.Data[0].ID, aias.RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(time.Hour))})
	if err != nil || rotated.URL == "" || rotated.URL == oldURL {
		t.Fatalf("rotate = %+v, want a new URL", rotated)
	}
	for _, u := range []string{oldURL, rotated.URL} {
		if st, _ := s.post(u, `{}`); st != 202 {
			t.Errorf("POST %s during grace = %d, want 202", u, st)
		}
	}
}

func TestHundredConcurrentReplaysMakeOneRun(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	settings := signature.Settings{Scheme: "standard-webhooks"}
	url, _, secret := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "standard-webhooks"})
	body := `{"order":1}`
	headers := signed(t, settings, secret, "msg_replayed", time.Now(), body)
	var accepted, dups, other atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch st, _ := s.post(url, body, headers...); st {
			case 202:
				accepted.Add(1)
			case 200:
				dups.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 1 || dups.Load() != 99 || other.Load() != 0 {
		t.Errorf("accepted %d, duplicates %d, other %d; want 1, 99, 0", accepted.Load(), dups.Load(), other.Load())
	}
}

func TestBodiesOfEveryKindAreStoredByteForByte(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow))
	cases := []struct{ contentType, body, wantBody string }{
		{"application/json", `{"a":1}`, `{"a":1}`},
		{"application/json", `{"a":`, `null`}, // invalid JSON: accepted, body null, raw kept
		{"application/x-www-form-urlencoded", `a=1&b=x+y`, `{"a":"1","b":"x y"}`},
		{"text/plain", "line one\nline two", `null`},
	}
	for _, c := range cases {
		r := s.do("POST", url, "", c.contentType, c.body)
		if r.Status != 202 {
			t.Fatalf("POST %s = %d %s, want 202", c.contentType, r.Status, r.Body)
		}
		var acc struct {
			RunID string `json:"run_id"`
		}
		r.json(t, &acc)
		s.waitRun(acme.Key, acc.RunID, "succeeded")
		steps, err := s.client(acme.Key).ListRunSteps(context.Background(), acc.RunID)
		if err != nil || len(steps) == 0 {
			t.Fatalf("ListRunSteps = %v, %v", steps, err)
		}
		var out struct {
			Body any    `json:"body"`
			Raw  string `json:"raw"`
		}
		if err := json.Unmarshal(steps[0].Output, &out); err != nil {
			t.Fatal(err)
		}
		if out.Raw != c.body || canonicalValue(t, out.Body) != c.wantBody {
			t.Errorf("%s: trigger.raw %q, trigger.body %s; want %q and %s", c.contentType, out.Raw, canonicalValue(t, out.Body), c.body, c.wantBody)
		}
	}
}

func canonicalValue(t *testing.T, v any) string {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEndpointBodyLimitRefusesDeclaredAndChunkedBodies(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	ctx, api := context.Background(), s.client(acme.Key)
	e, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: s.createWorkflow(acme.Key, echoWorkflow), Name: "small", MaxBodyBytes: aias.Ptr[int64](2048)})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 4096)
	if r := s.do("POST", e.URL, "", "text/plain", big); r.Status != 413 {
		t.Errorf("declared 4096 bytes over a 2048 limit = %d, want 413", r.Status)
	}
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte(big)); _ = pw.Close() }()
	req, _ := http.NewRequest("POST", e.URL, pr)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 413 {
		t.Errorf("chunked 4096 bytes over a 2048 limit = %d, want 413", res.StatusCode)
	}
	if r := s.do("POST", e.URL, "", "text/plain", strings.Repeat("y", 2000)); r.Status != 202 {
		t.Errorf("2000 bytes under the limit = %d, want 202", r.Status)
	}
	log, err := api.ListEndpointRejectionsPage(ctx, e.ID, aias.ListOptions{})
	if err != nil || len(log.Data) != 2 || log.Data[0].Reason != "body_too_large" {
		t.Errorf("rejections = %+v, want two body_too_large", log.Data)
	}
}

func TestRateLimitAnswers429WithRetryAfterAndRateLimitHeaders(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "1", "AIAS_RATE_LIMIT_ENDPOINT_BURST": "2"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow))
	var last response
	for range 3 {
		last = s.do("POST", url, "", "application/json", `{}`)
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" || last.Header.Get("RateLimit-Limit") != "2" || last.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("third request = %d, Retry-After %q, RateLimit-Limit %q, Remaining %q; want 429, set, 2, 0",
			last.Status, last.Header.Get("Retry-After"), last.Header.Get("RateLimit-Limit"), last.Header.Get("RateLimit-Remaining"))
	}
	if !strings.Contains(last.String(), `"code":"rate_limited"`) {
		t.Errorf("429 body = %s, want code rate_limited", last.Body)
	}
}

func TestLimiterFailsOpenWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	redis := redistestServer(t)
	s := start(t, options{redisURL: redis.URL(), env: map[string]string{"AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "1", "AIAS_RATE_LIMIT_ENDPOINT_BURST": "5"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow))
	redis.Stop()
	for i := range 3 {
		if st, _ := s.post(url, `{}`); st != 202 {
			t.Fatalf("request %d with Redis down = %d, want 202 (the limiter fails open)", i, st)
		}
	}
	redis.Start()
}

func TestSlowHeadersAreDropped(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_READ_HEADER_TIMEOUT": "300ms"}})
	u, _ := url.Parse(s.base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /api/webhooks/x/y HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(conn).ReadByte()
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a client that never finished its headers")
	}
}

func TestUndecryptableSecretAnswers503NeverAccepts(t *testing.T) {
	t.Parallel()
	first := start(t, options{})
	acme := first.signup("acme")
	url, _, secret := first.signedEndpoint(acme.Key, first.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "github"})
	first.stop()
	// The operator lost the key that sealed the secret.
	second := start(t, options{db: first.db, redisURL: first.redisURL,
		env: map[string]string{"AIAS_ENCRYPTION_KEYS": "other:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}})
	url = strings.Replace(url, first.base, second.base, 1)
	r := second.do("POST", url, "", "application/json", `{}`, signed(t, signature.Settings{Scheme: "github"}, secret, "d", time.Now(), `{}`)...)
	if r.Status != 503 || !strings.Contains(r.String(), "secret_unavailable") {
		t.Errorf("delivery whose secret cannot be decrypted = %d %s, want 503 secret_unavailable", r.Status, r.Body)
	}
}

func TestForwardedForFromAnUntrustedPeerDoesNotEscapeTheIPLimit(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_RATE_LIMIT_IP_PER_SECOND": "1", "AIAS_RATE_LIMIT_IP_BURST": "2"}})
	statuses := []int{}
	for i := range 3 {
		r := s.do("POST", "/api/webhooks/"+uuidString(i)+"/x", "", "application/json", `{}`, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		statuses = append(statuses, r.Status)
	}
	if statuses[2] != 429 {
		t.Errorf("statuses with a new X-Forwarded-For each time = %v, want the third limited (429)", statuses)
	}
}

func TestOversizeHeadersAre431(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	r := s.do("POST", "/api/webhooks/x/y", "", "application/json", `{}`, "X-Big", strings.Repeat("h", 80<<10))
	if r.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("80 KiB of headers = %d, want 431", r.Status)
	}
}

func uuidString(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func TestConcurrentRotationsLeaveOneCurrentSecret(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	_, id, _ := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "github"})
	ctx, api := context.Background(), s.client(acme.Key)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = api.RotateEndpoint(ctx, id, aias.RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(0))})
		}()
	}
	wg.Wait()
	e, err := api.GetEndpoint(ctx, id)
	if err != nil || len(e.SigningSecrets) != 1 {
		t.Errorf("live secrets after 4 concurrent rotations with grace 0 = %d (%v), want 1", len(e.SigningSecrets), err)
	}
}

func TestARunKeepsNoSignatureHeaderAndATolerancePatchKeepsTheSecret(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	settings := signature.Settings{Scheme: "standard-webhooks"}
	url, id, secret := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "standard-webhooks"})
	patched, err := s.client(acme.Key).UpdateEndpoint(context.Background(), id, aias.UpdateEndpointRequest{
		Verification: &aias.VerificationInput{Scheme: aias.SchemeStandardWebhooks, Tolerance: aias.Duration(2 * time.Minute)}})
	if err != nil || patched.Verification.Tolerance != "2m0s" {
		t.Fatalf("UpdateEndpoint = %+v, %v; want the tolerance 2m0s", patched.Verification, err)
	}
	if patched.SigningSecret != "" {
		t.Error("changing only the tolerance issued a new secret")
	}
	_, runID := s.post(url, `{}`, signed(t, settings, secret, "msg_9", time.Now(), `{}`)...)
	if runID == "" {
		t.Fatal("the original secret stopped verifying after a tolerance change")
	}
	r := s.run(acme.Key, runID)
	if trig, _ := json.Marshal(r.Trigger); strings.Contains(strings.ToLower(string(trig)), "webhook-signature") {
		t.Errorf("the run kept the signature header: %s", trig)
	}
}

// GitHub, Shopify and untimestamped hmac sign the body only, not the
// delivery id header: a captured delivery resent under a new id within the
// replay window is the same delivery (200, the first run); after the window
// it is new. Schemes whose id is signed, and the token scheme, are not
// affected.
func TestAReplayedBodyUnderANewDeliveryIDIsADuplicateWithinTheWindow(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, echoWorkflow)
	unsignedIDs := []struct {
		verification map[string]any
		settings     signature.Settings
	}{
		{map[string]any{"scheme": "github"}, signature.Settings{Scheme: "github"}},
		{map[string]any{"scheme": "shopify"}, signature.Settings{Scheme: "shopify"}},
		{map[string]any{"scheme": "hmac", "header": "X-Sig", "delivery_id_header": "X-Id"},
			signature.Settings{Scheme: "hmac", Header: "X-Sig", DeliveryIDHeader: "X-Id"}},
	}
	body := `{"action":"opened","number":7}`
	for _, sc := range unsignedIDs {
		url, _, secret := s.signedEndpoint(acme.Key, wf, sc.verification)
		st, first := s.post(url, body, signed(t, sc.settings, secret, "delivery-1", time.Now(), body)...)
		if st != 202 {
			t.Fatalf("%s: first delivery = %d, want 202", sc.settings.Scheme, st)
		}
		r := s.do("POST", url, "", "application/json", body, signed(t, sc.settings, secret, "delivery-2", time.Now(), body)...)
		var again struct {
			RunID     string `json:"run_id"`
			Duplicate bool   `json:"duplicate"`
		}
		if r.Status == 200 {
			r.json(t, &again)
		}
		if r.Status != 200 || again.RunID != first || !again.Duplicate || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: the same body under a new delivery id = %d %s, want 200 duplicate of run %s", sc.settings.Scheme, r.Status, r.Body, first)
		}
		other := `{"action":"closed","number":7}`
		if st, id := s.post(url, other, signed(t, sc.settings, secret, "delivery-3", time.Now(), other)...); st != 202 || id == first {
			t.Errorf("%s: another body = %d run %s, want 202 and a new run", sc.settings.Scheme, st, id)
		}
	}

	// After the window (the first run made six minutes older), the body is new again.
	url, _, secret := s.signedEndpoint(acme.Key, wf, map[string]any{"scheme": "github"})
	gh := signature.Settings{Scheme: "github"}
	late := `{"action":"reopened"}`
	_, first := s.post(url, late, signed(t, gh, secret, "late-1", time.Now(), late)...)
	owner, err := postgres.Open(context.Background(), s.db.OwnerURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	if _, err := owner.ExecContext(context.Background(), `UPDATE runs SET created_at = created_at - interval '6 minutes' WHERE id = $1`, first); err != nil {
		t.Fatal(err)
	}
	if st, id := s.post(url, late, signed(t, gh, secret, "late-2", time.Now(), late)...); st != 202 || id == first {
		t.Errorf("the same body after the window = %d run %s, want 202 and a new run (first %s)", st, id, first)
	}

	// A signed id (standard-webhooks) or no signature at all (token): the
	// same body under new ids is new each time.
	swURL, _, swSecret := s.signedEndpoint(acme.Key, wf, map[string]any{"scheme": "standard-webhooks"})
	tokenURL := s.createEndpoint(acme.Key, wf)
	seen := map[string]bool{}
	for i, id := range []string{"msg_a", "msg_b"} {
		sw := signed(t, signature.Settings{Scheme: "standard-webhooks"}, swSecret, id, time.Now(), body)
		for _, d := range []struct {
			name, url string
			header    []string
		}{
			{"standard-webhooks", swURL, sw},
			{"token", tokenURL, []string{"Idempotency-Key", id}},
			{"token without key", tokenURL, nil},
		} {
			st, run := s.post(d.url, body, d.header...)
			if st != 202 || seen[run] {
				t.Errorf("%s: delivery %d of the same body = %d run %s, want 202 and a new run", d.name, i+1, st, run)
			}
			seen[run] = true
		}
	}
}

// A replayed body is answered as the same delivery even when the quota
// would refuse a new one: repeats cost nothing.
func TestAReplayedBodyIsADuplicateEvenWithTheQuotaFull(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	plans := strings.Replace(tinyPlans, "runs_per_month: 3", "runs_per_month: 1", 1)
	plans = strings.Replace(plans, "held_runs: 2}", "held_runs: 0}\n    features: {signature_schemes: [github]}", 1)
	if err := os.WriteFile(file, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, options{env: map[string]string{"AIAS_PLANS_FILE": file}})
	tn := s.signupOn("tiny", "tiny")
	url, _, secret := s.signedEndpoint(tn.Key, s.createWorkflow(tn.Key, echoWorkflow), map[string]any{"scheme": "github"})
	gh := signature.Settings{Scheme: "github"}
	body := `{"action":"opened"}`
	st, first := s.post(url, body, signed(t, gh, secret, "d1", time.Now(), body)...)
	if st != 202 {
		t.Fatalf("first delivery = %d, want 202", st)
	}
	if st, _ := s.post(url, `{"action":"closed"}`, signed(t, gh, secret, "d2", time.Now(), `{"action":"closed"}`)...); st != 429 {
		t.Fatalf("a new delivery over a quota of 1 = %d, want 429", st)
	}
	if st, id := s.post(url, body, signed(t, gh, secret, "d3", time.Now(), body)...); st != 200 || id != first {
		t.Errorf("the first body again under a new id, quota full = %d run %s, want 200 with run %s", st, id, first)
	}
}

// Copies of one GitHub body sent at once under fifty delivery ids make one
// run: same-body inserts of an endpoint serialize.
func TestConcurrentCopiesOfABodyUnderNewIDsMakeOneRun(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "0", "AIAS_RATE_LIMIT_IP_PER_SECOND": "0"}})
	acme := s.signup("acme")
	url, _, secret := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "github"})
	body := `{"action":"synchronize"}`
	var accepted, dups, other atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		headers := signed(t, signature.Settings{Scheme: "github"}, secret, fmt.Sprintf("copy-%d", i), time.Now(), body)
		wg.Go(func() {
			switch st, _ := s.post(url, body, headers...); st {
			case 202:
				accepted.Add(1)
			case 200:
				dups.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 1 || dups.Load() != 49 || other.Load() != 0 {
		t.Errorf("accepted %d, duplicates %d, other %d; want 1, 49, 0", accepted.Load(), dups.Load(), other.Load())
	}
}
