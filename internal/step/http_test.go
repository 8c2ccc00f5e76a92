package step

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// request is what the test server saw.
type request struct {
	method, contentType, idempotencyKey, body string
}

// newServer starts a server that records each request on seen and answers
// with handle.
func newServer(t *testing.T, handle http.HandlerFunc) (*httptest.Server, <-chan request) {
	t.Helper()
	seen := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case seen <- request{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"), string(body)}:
		default:
		}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func runHTTP(ctx context.Context, t *testing.T, client *http.Client, with map[string]any) (Result, error) {
	t.Helper()
	return mustLookup(t, "http").Run(ctx, Deps{HTTPClient: client}, with, testEnv())
}

func TestHTTPSendsJSONBodyAndParsesJSONResponse(t *testing.T) {
	t.Parallel()
	srv, seen := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Request-Id", "abc")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	with := map[string]any{"url": srv.URL + "/orders/{{ steps.normalize.output.id }}", "body": "steps.normalize.output"}
	res, err := runHTTP(context.Background(), t, srv.Client(), with)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantReq := request{"POST", "application/json", "run-1:notify", `{"id":"o-1","total":180}`}
	if diff := cmp.Diff(wantReq, <-seen, cmp.AllowUnexported(request{})); diff != "" {
		t.Fatalf("request mismatch (-want +got):\n%s", diff)
	}
	out := res.Output.(map[string]any)
	if out["status"] != 201 || out["truncated"] != false {
		t.Fatalf("status/truncated = %v/%v, want 201/false", out["status"], out["truncated"])
	}
	if diff := cmp.Diff(map[string]any{"ok": true}, out["body"]); diff != "" {
		t.Fatalf("body mismatch (-want +got):\n%s", diff)
	}
	if got := out["headers"].(map[string]string)["x-request-id"]; got != "abc" {
		t.Fatalf("x-request-id header = %q, want abc", got)
	}
	if len(res.Logs) != 1 || res.Logs[0].Fields["status"] != 201 {
		t.Fatalf("logs = %+v, want one line with the status", res.Logs)
	}
}

func TestHTTPRequestShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		with map[string]any
		want request
	}{
		{"GET without a body", map[string]any{}, request{"GET", "", "run-1:notify", ""}},
		{"string body has no implied type", map[string]any{"body": `"a=b"`}, request{"POST", "", "run-1:notify", "a=b"}},
		{"header sets the type", map[string]any{"method": "put", "body": `"a=b"`,
			"headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded"}},
			request{"PUT", "application/x-www-form-urlencoded", "run-1:notify", "a=b"}},
		{"header overrides JSON type", map[string]any{"body": "{'a': 1}", "headers": map[string]any{"Content-Type": "application/vnd.x+json"}},
			request{"POST", "application/vnd.x+json", "run-1:notify", `{"a":1}`}},
		{"explicit idempotency key wins", map[string]any{"headers": map[string]any{"Idempotency-Key": "{{ run.id }}"}},
			request{"GET", "", "run-1", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, seen := newServer(t, status(http.StatusOK))
			tt.with["url"] = srv.URL
			if _, err := runHTTP(context.Background(), t, srv.Client(), tt.with); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, <-seen, cmp.AllowUnexported(request{})); diff != "" {
				t.Fatalf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPClassifiesStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		expect []any
		want   string // "ok", "retry" or "permanent"
	}{
		{"200 succeeds", 200, nil, "ok"},
		{"204 succeeds", 204, nil, "ok"},
		{"503 is retried", 503, nil, "retry"},
		{"500 is retried", 500, nil, "retry"},
		{"429 is retried", 429, nil, "retry"},
		{"408 is retried", 408, nil, "retry"},
		{"404 is permanent", 404, nil, "permanent"},
		{"400 is permanent", 400, nil, "permanent"},
		{"302 is permanent", 302, nil, "permanent"},
		{"expected 404 succeeds", 404, []any{404.0}, "ok"},
		{"200 outside expect is permanent", 200, []any{201.0}, "permanent"},
		{"503 outside expect is still retried", 503, []any{201.0}, "retry"},
	}
	// Redirects are not followed, so that a 3xx reaches the classifier. The
	// client has a transport of its own: every httptest server closes the idle
	// connections of http.DefaultTransport when it shuts down, which breaks
	// requests of parallel tests that share it.
	client := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newServer(t, status(tt.status))
			with := map[string]any{"url": srv.URL, "headers": map[string]any{"Authorization": "Bearer s3cret"}}
			if tt.expect != nil {
				with["expect"] = tt.expect
			}
			res, err := runHTTP(context.Background(), t, client, with)
			switch tt.want {
			case "ok":
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case "retry":
				mustRetryable(t, err)
			case "permanent":
				mustPermanent(t, err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q leaks a header value", err)
			}
			if got := res.Output.(map[string]any)["status"]; got != tt.status {
				t.Fatalf("output status = %v, want %d", got, tt.status)
			}
		})
	}
}

func TestHTTPTimeoutIsRetryable(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	start := time.Now()
	_, err := runHTTP(context.Background(), t, srv.Client(), map[string]any{"url": srv.URL, "timeout": "50ms"})
	mustRetryable(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %q does not wrap context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("timeout took %s", took)
	}
}

func TestHTTPHonoursCancellation(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := runHTTP(ctx, t, srv.Client(), map[string]any{"url": srv.URL})
	mustRetryable(t, err)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %q does not wrap context.Canceled", err)
	}
}

func TestHTTPTruncatesLargeBodies(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `"`+strings.Repeat("x", MaxResponseBytes+10)+`"`)
	})
	res, err := runHTTP(context.Background(), t, srv.Client(), map[string]any{"url": srv.URL})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := res.Output.(map[string]any)
	body, _ := out["body"].(string)
	if out["truncated"] != true || len(body) != StoredBodyBytes || out["bytes"] != MaxResponseBytes {
		t.Fatalf("truncated=%v len(body)=%d bytes=%v, want true, %d and %d", out["truncated"], len(body), out["bytes"], StoredBodyBytes, MaxResponseBytes)
	}
}

func TestHTTPKeepsNonJSONBodyAsText(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{broken`)
	})
	res, err := runHTTP(context.Background(), t, srv.Client(), map[string]any{"url": srv.URL})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := res.Output.(map[string]any)["body"]; got != "{broken" {
		t.Fatalf("body = %#v, want the raw text", got)
	}
}

func TestHTTPNetworkErrorIsRetryableAndHidesTheURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(status(200))
	url := srv.URL
	srv.Close() // nothing listens any more
	_, err := runHTTP(context.Background(), t, &http.Client{}, map[string]any{"url": url + "/x?token=s3cret"})
	mustRetryable(t, err)
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %q leaks the query string", err)
	}
}

func TestHTTPRejectsBadInputsPermanently(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]any{
		"relative rendered URL":  {"url": "{{ step.name }}/x"},
		"non-http rendered URL":  {"url": "{{ 'file' }}:///etc/passwd"},
		"header with line break": {"url": "http://example.com", "headers": map[string]any{"X-A": "{{ 'a\\nb' }}"}},
		"body runtime error":     {"url": "http://example.com", "body": "trigger.body.missing.deeper"},
	}
	for name, with := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := runHTTP(context.Background(), t, &http.Client{}, with)
			mustPermanent(t, err)
		})
	}
}

func TestHTTPRequiresAnInjectedClient(t *testing.T) {
	t.Parallel()
	_, err := runHTTP(context.Background(), t, nil, map[string]any{"url": "http://example.com"})
	if err == nil {
		t.Fatal("Run without a client succeeded")
	}
}

func TestARequestTakesTheStepsTimeoutUnlessItSetsItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		ctx  context.Context
		with map[string]any
		want time.Duration
	}{
		{ctx, map[string]any{}, DefaultHTTPTimeout},
		{WithAttemptTimeout(ctx, 30*time.Second), map[string]any{}, 30 * time.Second},
		{WithAttemptTimeout(ctx, 5*time.Minute), map[string]any{}, MaxHTTPTimeout},
		{WithAttemptTimeout(ctx, 30*time.Second), map[string]any{"timeout": "5s"}, 5 * time.Second},
	}
	for _, tt := range tests {
		got, err := requestTimeout(tt.ctx, tt.with)
		if err != nil || got != tt.want {
			t.Errorf("requestTimeout(%v) = %s, %v; want %s", tt.with, got, err, tt.want)
		}
	}
}
