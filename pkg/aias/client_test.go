package aias_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aias/pkg/aias"
)

// These tests pin the client's own behaviour — retries, errors, timeouts,
// paging, downloads — against servers that answer what each case needs.
// The client against the real AIAS is internal/e2e's business: every
// end-to-end test calls AIAS through it.

// fastRetry retries quickly, so the tests do not wait on backoff.
var fastRetry = aias.RetryPolicy{Attempts: 4, MinDelay: time.Millisecond, MaxDelay: 2 * time.Second}

func newClient(t *testing.T, h http.HandlerFunc, opts ...aias.Option) *aias.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := aias.New(srv.URL, append([]aias.Option{aias.WithAPIKey("aias_test"), aias.WithRetry(fastRetry)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func problemJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestARefusalIsAnErrorWithTheProblemsCodeFieldsAndRequestID(t *testing.T) {
	t.Parallel()
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "req-header")
		problemJSON(w, 400, `{"type":"about:blank","title":"Bad Request","status":400,"code":"validation_failed",
			"detail":"invalid workflow","errors":[{"path":"steps[0].type","message":"unknown step type"}],"request_id":"req-1"}`)
	})
	_, err := c.CreateWorkflow(context.Background(), aias.YAML([]byte("name: x\n")))
	var e *aias.Error
	if !errors.As(err, &e) {
		t.Fatalf("CreateWorkflow error = %v (%T), want an *aias.Error", err, err)
	}
	if e.Status != 400 || e.Code != aias.CodeValidationFailed || e.Detail != "invalid workflow" || e.RequestID != "req-1" ||
		len(e.Fields) != 1 || e.Fields[0].Path != "steps[0].type" {
		t.Errorf("Error = %+v, want status 400, validation_failed, the detail, the field and request req-1", e)
	}
	if aias.CodeOf(fmt.Errorf("wrapped: %w", err)) != aias.CodeValidationFailed || aias.StatusOf(err) != 400 {
		t.Errorf("CodeOf/StatusOf through a wrap = %q/%d", aias.CodeOf(err), aias.StatusOf(err))
	}
	if msg := err.Error(); !strings.Contains(msg, "validation_failed") || !strings.Contains(msg, "steps[0].type") || !strings.Contains(msg, "req-1") {
		t.Errorf("Error() = %q, want the code, the field and the request id", msg)
	}
}

func TestAnAnswerThatIsNoProblemDocumentStillBecomesAnError(t *testing.T) {
	t.Parallel()
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
	})
	_, err := c.GetMe(context.Background())
	var e *aias.Error
	if !errors.As(err, &e) || e.Status != 502 || e.Code != "" || !strings.Contains(e.Detail, "bad gateway") {
		t.Errorf("GetMe = %v, want an *Error 502 without a code, with the body as detail", err)
	}
}

func TestA503IsRetriedAfterTheWaitRetryAfterAsks(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var first time.Time
	var second time.Time
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			problemJSON(w, 503, `{"type":"about:blank","title":"x","status":503,"code":"storage_unavailable"}`)
		default:
			second = time.Now()
			_, _ = io.WriteString(w, `{"tenant_id":"t","role":"owner"}`)
		}
	})
	me, err := c.GetMe(context.Background())
	if err != nil || me.Role != aias.RoleOwner {
		t.Fatalf("GetMe = %+v, %v; want the second answer", me, err)
	}
	if calls.Load() != 2 {
		t.Errorf("requests = %d, want 2", calls.Load())
	}
	if waited := second.Sub(first); waited < time.Second {
		t.Errorf("the retry came %v after the 503, want at least the 1s Retry-After asked", waited)
	}
}

func TestA429IsRetriedEvenForAPost(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			problemJSON(w, 429, `{"type":"about:blank","title":"x","status":429,"code":"rate_limited"}`)
			return
		}
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"run_id":"r","status":"queued"}`)
	})
	got, err := c.TriggerWorkflow(context.Background(), "w", map[string]int{"n": 1})
	if err != nil || got.RunID != "r" || calls.Load() != 3 {
		t.Errorf("TriggerWorkflow = %+v, %v after %d requests; want run r after 3", got, err, calls.Load())
	}
}

func TestARetryAfterLongerThanThePolicyAllowsIsReturnedAtOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "86400")
		problemJSON(w, 429, `{"type":"about:blank","title":"x","status":429,"code":"quota_exhausted"}`)
	})
	_, err := c.ReplayRun(context.Background(), "r", aias.RunControlRequest{})
	var e *aias.Error
	if !errors.As(err, &e) || e.Code != aias.CodeQuotaExhausted || e.RetryAfter != 24*time.Hour || calls.Load() != 1 {
		t.Errorf("ReplayRun = %v after %d requests, want quota_exhausted with RetryAfter 24h after 1", err, calls.Load())
	}
}

func TestOtherRefusalsAreNotRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		problemJSON(w, 500, `{"type":"about:blank","title":"x","status":500,"code":"internal"}`)
	})
	if _, err := c.GetRun(context.Background(), "r"); aias.CodeOf(err) != aias.CodeInternal || calls.Load() != 1 {
		t.Errorf("GetRun = %v after %d requests, want internal after 1", err, calls.Load())
	}
}

// A bulk call commits batch by batch, so its 503 may come after some runs
// were replayed: sending it again would replay them twice.
func TestABulkCallIsNotRetriedAfterA503ButAfterA429(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		problemJSON(w, 503, `{"type":"about:blank","title":"x","status":503,"code":"storage_unavailable"}`)
	})
	ctx := context.Background()
	if _, err := c.ReplayRuns(ctx, aias.BulkReplayRequest{Status: []aias.RunStatus{aias.RunFailed}}); aias.StatusOf(err) != 503 || calls.Load() != 1 {
		t.Errorf("ReplayRuns = %v after %d requests, want the 503 after 1", err, calls.Load())
	}
	calls.Store(0)
	if _, err := c.RedriveRuns(ctx, aias.BulkRedriveRequest{}); aias.StatusOf(err) != 503 || calls.Load() != 1 {
		t.Errorf("RedriveRuns = %v after %d requests, want the 503 after 1", err, calls.Load())
	}

	var limited atomic.Int32
	c = newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if limited.Add(1) == 1 { // refused before the handler: nothing was done
			problemJSON(w, 429, `{"type":"about:blank","title":"x","status":429,"code":"rate_limited"}`)
			return
		}
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"count":3,"held":0,"more":false}`)
	})
	if res, err := c.ReplayRuns(ctx, aias.BulkReplayRequest{Status: []aias.RunStatus{aias.RunFailed}}); err != nil || res.Count != 3 || limited.Load() != 2 {
		t.Errorf("ReplayRuns after a 429 = %+v, %v after %d requests, want 3 replayed after 2", res, err, limited.Load())
	}
}

func TestReplayAllStoppedByAnErrorReturnsTheTotalsAndWhereToContinue(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var mu sync.Mutex
	var cursors []string
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		var req aias.BulkReplayRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		cursors = append(cursors, req.Cursor)
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.WriteHeader(202)
			_, _ = io.WriteString(w, `{"count":2,"held":0,"more":true,"next_cursor":"c1"}`)
			return
		}
		problemJSON(w, 503, `{"type":"about:blank","title":"x","status":503,"code":"storage_unavailable"}`)
	})
	total, err := c.ReplayAll(context.Background(), aias.BulkReplayRequest{Status: []aias.RunStatus{aias.RunFailed}, Limit: 2}, nil)
	if aias.CodeOf(err) != aias.CodeStorageUnavailable || total.Count != 2 || total.NextCursor != "c1" || calls.Load() != 2 {
		t.Errorf("ReplayAll = %+v, %v after %d requests; want 2 replayed, cursor c1 and the 503 after 2", total, err, calls.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cursors) != 2 || cursors[0] != "" || cursors[1] != "c1" {
		t.Errorf("the calls sent cursors %q, want \"\" then c1", cursors)
	}
}

// A redirect followed would turn a POST into a GET without its body, whose
// answer would pass for the POST's success: it is an error naming where it
// points, through the default client or one of the caller's.
func TestARedirectIsNotFollowedButNamedInTheError(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = io.WriteString(w, `{"data":[]}`)
	}))
	t.Cleanup(target.Close)
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/aias"+r.URL.Path, http.StatusMovedPermanently)
	}
	own := &http.Client{}
	for name, opts := range map[string][]aias.Option{"default": nil, "WithHTTPClient": {aias.WithHTTPClient(own)}} {
		c := newClient(t, redirect, opts...)
		_, err := c.CreateWorkflow(context.Background(), aias.YAML([]byte("name: x\n")))
		var e *aias.Error
		if !errors.As(err, &e) || e.Status != http.StatusMovedPermanently ||
			!strings.Contains(e.Detail, "redirect to "+target.URL+"/aias/api/v1/workflows") ||
			!strings.Contains(e.Detail, "set the base URL to "+target.URL+"/aias") {
			t.Errorf("%s: CreateWorkflow redirected = %v, want a 301 *Error naming the target and the base URL to use", name, err)
		}
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect's target got %d requests, want none", elsewhere.Load())
	}
	if own.CheckRedirect != nil {
		t.Error("WithHTTPClient changed the caller's http.Client")
	}
}

// hangUp closes the connection without an answer for the first n requests.
func hangUp(n int32, calls *atomic.Int32, then http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		then(w, r)
	}
}

func TestANetworkErrorIsRetriedForAGetButNotForAPost(t *testing.T) {
	t.Parallel()
	var gets atomic.Int32
	c := newClient(t, hangUp(2, &gets, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	if h, err := c.GetHealth(context.Background()); err != nil || h.Status != "ok" || gets.Load() != 3 {
		t.Errorf("GetHealth = %+v, %v after %d requests; want ok after 3", h, err, gets.Load())
	}
	var posts atomic.Int32
	c = newClient(t, hangUp(1, &posts, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"run_id":"r","status":"queued"}`)
	}))
	if _, err := c.TriggerWorkflow(context.Background(), "w", nil); err == nil || posts.Load() != 1 {
		t.Errorf("TriggerWorkflow after a hang-up = %v after %d requests; want the error after 1 (a POST may have been applied)", err, posts.Load())
	}
}

func TestTheTimeoutBoundsACall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, aias.WithTimeout(50*time.Millisecond))
	_, err := c.GetMe(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetMe against a server that never answers = %v, want context.DeadlineExceeded", err)
	}
}

func TestTheIteratorWalksEveryPageAndStopsWhenTheConsumerDoes(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Query().Get("status") != "failed" || r.URL.Query().Get("limit") != "2" {
			problemJSON(w, 400, `{"type":"about:blank","title":"x","status":400,"code":"validation_failed"}`)
			return
		}
		switch r.URL.Query().Get("cursor") {
		case "":
			_, _ = io.WriteString(w, `{"data":[{"id":"1"},{"id":"2"}],"next_cursor":"c2"}`)
		case "c2":
			_, _ = io.WriteString(w, `{"data":[{"id":"3"},{"id":"4"}],"next_cursor":"c3"}`)
		case "c3":
			_, _ = io.WriteString(w, `{"data":[{"id":"5"}]}`)
		}
	})
	var ids []string
	for run, err := range c.ListRuns(context.Background(), aias.RunFilter{Status: aias.RunFailed, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	if strings.Join(ids, ",") != "1,2,3,4,5" || requests.Load() != 3 {
		t.Errorf("runs %v in %d requests, want 1..5 in 3", ids, requests.Load())
	}
	requests.Store(0)
	for run, err := range c.ListRuns(context.Background(), aias.RunFilter{Status: aias.RunFailed, Limit: 2}) {
		if err != nil || run.ID == "2" {
			break
		}
	}
	if requests.Load() != 1 {
		t.Errorf("breaking on the first page made %d requests, want 1", requests.Load())
	}
}

func TestTheIteratorYieldsAnErrorOnceAndStops(t *testing.T) {
	t.Parallel()
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		problemJSON(w, 403, `{"type":"about:blank","title":"x","status":403,"code":"forbidden"}`)
	})
	n := 0
	for _, err := range c.ListAPIKeys(context.Background(), aias.ListOptions{}) {
		n++
		if aias.CodeOf(err) != aias.CodeForbidden {
			t.Errorf("yielded error %v, want forbidden", err)
		}
	}
	if n != 1 {
		t.Errorf("yielded %d times, want once", n)
	}
}

func TestADownloadStreamsTheBytesAndChecksThemAgainstTheETag(t *testing.T) {
	t.Parallel()
	const sum = `"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"` // sha256("hello")
	body := "hello"
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == sum {
			w.Header().Set("ETag", sum)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", sum)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Disposition", `attachment; filename="greeting.txt"`)
		_, _ = io.WriteString(w, body)
	})
	d, err := c.DownloadArtifact(context.Background(), "a", aias.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(d)
	_ = d.Close()
	if err != nil || string(b) != "hello" || d.ETag != sum || d.Filename != "greeting.txt" || d.ContentType != "text/plain" || d.Size != 5 {
		t.Errorf("download = %q, %v, %+v; want hello with its ETag, name, type and size", b, err, d)
	}
	d, err = c.DownloadArtifact(context.Background(), "a", aias.DownloadOptions{IfNoneMatch: sum})
	if err != nil || !d.NotModified {
		t.Fatalf("download with the current ETag = %+v, %v; want NotModified", d, err)
	}
	if b, err := io.ReadAll(d); err != nil || len(b) != 0 {
		t.Errorf("a not-modified body read %q, %v; want nothing", b, err)
	}
	_ = d.Close()

	body = "HELLO" // the bytes no longer match the ETag
	d, err = c.DownloadArtifact(context.Background(), "a", aias.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	if _, err := io.ReadAll(d); !errors.Is(err, aias.ErrChecksum) {
		t.Errorf("reading bytes that do not match the ETag = %v, want ErrChecksum", err)
	}
}

func TestAPublicOperationSendsNoKeyAndTheIntakeHidesItsURLInErrors(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("User-Agent"))
		problemJSON(w, 404, `{"type":"about:blank","title":"x","status":404,"code":"not_found"}`)
	}, aias.WithUserAgent("shop/2"))
	_, err := c.DeliverWebhook(context.Background(), c.BaseURL()+"/api/webhooks/t/secret-token", "application/json", []byte(`{}`), nil)
	if aias.CodeOf(err) != aias.CodeNotFound || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("DeliverWebhook = %v, want not_found without the URL's token", err)
	}
	if got := auth.Load().(string); !strings.HasPrefix(got, "|shop/2 aias-go/") {
		t.Errorf("Authorization|User-Agent = %q, want no key and the application's name first", got)
	}
}

func TestNewRefusesABaseURLThatIsNotHTTP(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := aias.New(u); err == nil {
			t.Errorf("New(%q) = nil error, want refused", u)
		}
	}
}

// The package is public: it must build from the standard library alone,
// without the module's internal packages.
func TestThePackageDependsOnTheStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "aias/pkg/aias" {
			t.Errorf("pkg/aias depends on %s; it may use the standard library only", p)
		}
	}
}

// A signed-in Client sends the cookie on every call and the CSRF token on
// every write, never the key of the Client it came from; a sign-in whose
// answer sets no cookie is an error, not a Client that cannot act.
func TestASignedInClientSendsItsCookieAndItsCSRFTokenOnWrites(t *testing.T) {
	t.Parallel()
	type seen struct{ method, path, cookie, csrf, auth string }
	var mu sync.Mutex
	var got []seen
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie(aias.SessionCookie)
		s := seen{method: r.Method, path: r.URL.Path, csrf: r.Header.Get(aias.CSRFHeader), auth: r.Header.Get("Authorization")}
		if ck != nil {
			s.cookie = ck.Value
		}
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/session":
			if r.Method == http.MethodPost {
				http.SetCookie(w, &http.Cookie{Name: aias.SessionCookie, Value: "sess1", HttpOnly: true, Secure: true})
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, `{"user_id":"u","email":"a@example.com","tenant_id":"t","role":"owner","expires_at":"2030-01-01T00:00:00Z","csrf_token":"tok1"}`)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case "/api/v1/accounts":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"user_id":"u","csrf_token":"tok2"}`)
		default:
			_, _ = io.WriteString(w, `{"data":[]}`)
		}
	})
	p, in, err := c.LogIn(context.Background(), aias.LoginRequest{Email: "a@example.com", Password: "pw"})
	if err != nil || in.CSRFToken != "tok1" || in.Role != aias.RoleOwner {
		t.Fatalf("LogIn = %+v, %v", in, err)
	}
	if _, err := p.ListMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.LogOut(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{method: "POST", path: "/api/v1/session"},
		{method: "GET", path: "/api/v1/members", cookie: "sess1"},
		{method: "DELETE", path: "/api/v1/session", cookie: "sess1", csrf: "tok1"},
		{method: "GET", path: "/api/v1/members", auth: "Bearer aias_test"}, // the key's Client is as it was
	}
	mu.Lock()
	sent := fmt.Sprint(got)
	mu.Unlock()
	if sent != fmt.Sprint(want) {
		t.Errorf("requests\n got %v\nwant %v", sent, want)
	}
	_, _, err = c.SignUpPerson(context.Background(), aias.PersonSignupRequest{Email: "a@example.com", Password: "pw", TenantName: "a"})
	if err == nil || !strings.Contains(err.Error(), "no aias_session cookie") {
		t.Errorf("a sign-in answered without a cookie: %v, want an error naming it", err)
	}
}

func TestRunFilterSendsItsCreationBounds(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var query string
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		query = r.URL.RawQuery
		mu.Unlock()
		_, _ = io.WriteString(w, `{"data":[]}`)
	})
	after := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	_, err := c.ListRunsPage(context.Background(), aias.RunFilter{CreatedAfter: after, CreatedBefore: after.Add(time.Hour)})
	mu.Lock()
	defer mu.Unlock()
	if err != nil || !strings.Contains(query, "created_after=2026-01-02T02%3A04%3A05Z") || !strings.Contains(query, "created_before=2026-01-02T03%3A04%3A05Z") {
		t.Errorf("ListRunsPage sent %q (%v), want created_after and created_before in RFC 3339", query, err)
	}
}

// Every save of a workflow makes a version, so applying the same
// definition again must save nothing, and a lost answer to a save must not
// be followed by a second save.
func TestApplyingAnUnchangedDefinitionSavesNoVersion(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var puts []string
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			puts = append(puts, string(b))
			mu.Unlock()
			_, _ = io.WriteString(w, `{"id":"w1","name":"orders","version":2}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":[{"id":"w1","name":"orders","version":1,"definition":
			{"name":"orders","steps":[{"name":"a","type":"transform","with":{"output":"1","n":2}}]}}]}`)
	})
	ctx := context.Background()
	same := `{"steps": [{"type": "transform", "with": {"n": 2, "output": "1"}, "name": "a"}], "name": "orders"}`
	sameYAML := aias.YAML([]byte("name: orders\nsteps: [{name: a, type: transform, with: {output: '1', n: 2}}]\n"))
	sameYAML.AsJSON = []byte(same)
	for name, def := range map[string]aias.Definition{"JSON": aias.JSON([]byte(same)), "YAML with AsJSON": sameYAML} {
		if w, how, err := c.ApplyWorkflow(ctx, "orders", def); err != nil || how != aias.AppliedUnchanged || w.Version != 1 {
			t.Errorf("%s: ApplyWorkflow of the stored definition = version %d, %q, %v; want version 1 unchanged", name, w.Version, how, err)
		}
	}
	changed := `{"name":"orders","steps":[{"name":"a","type":"transform","with":{"output":"2","n":2}}]}`
	unknown := `{"name":"orders","steps":[{"name":"a","type":"transform","with":{"output":"1","n":2}}],"future":1}`
	for _, def := range []aias.Definition{aias.JSON([]byte(changed)), aias.JSON([]byte(unknown)), aias.YAML([]byte("name: orders\n"))} {
		if w, how, err := c.ApplyWorkflow(ctx, "orders", def); err != nil || how != aias.AppliedUpdated || w.Version != 2 {
			t.Errorf("ApplyWorkflow of %q = version %d, %q, %v; want version 2 updated", def.Body, w.Version, how, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(puts) != 3 {
		t.Errorf("ApplyWorkflow saved %d times, want 3 (the changed, the unknown field, the YAML it cannot compare)", len(puts))
	}
}

func TestAWorkflowSaveIsNotSentAgainAfterANetworkError(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newClient(t, hangUp(1, &calls, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"w1","name":"orders","version":3}`)
	}))
	if _, err := c.UpdateWorkflow(context.Background(), "w1", aias.YAML([]byte("name: orders\n"))); err == nil || calls.Load() != 1 {
		t.Errorf("UpdateWorkflow after a hang-up = %v after %d requests; want the error after 1 (the version may be saved)", err, calls.Load())
	}
}
