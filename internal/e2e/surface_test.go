package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"aias/internal/testutil/redistest"
)

// What an outsider can reach: signup, the queue dashboard's actions, and
// what an http step may dial.

// operatorToken opens the dashboard in these tests.
const operatorToken = "op-secret-token-of-at-least-32-chars"

func TestSignupIsClosedUnlessTheOperatorOpensIt(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_SIGNUP_ENABLED": ""}}) // the default
	r := s.do("POST", "/api/v1/signup", "", "", map[string]string{"email": "a@example.com", "tenant_name": "a"})
	if r.Status != http.StatusForbidden || !strings.Contains(r.String(), `"code":"signup_disabled"`) {
		t.Errorf("signup with AIAS_SIGNUP_ENABLED unset = %d %s, want 403 signup_disabled", r.Status, r.Body)
	}
}

// Each signup is a tenant with a plan's quotas: one client address may not
// make them without bound.
func TestSignupIsLimitedPerClientAddress(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_SIGNUP_RATE_PER_HOUR": "2", "AIAS_TRUSTED_PROXIES": "127.0.0.1/32"}})
	signup := func(n int, header ...string) response {
		body := map[string]string{"email": "u" + strconv.Itoa(n) + "@example.com", "tenant_name": "t" + strconv.Itoa(n)}
		return s.do("POST", "/api/v1/signup", "", "", body, header...)
	}
	for n := range 2 {
		if r := signup(n); r.Status != http.StatusCreated {
			t.Fatalf("signup %d of 2 = %d %s, want 201", n+1, r.Status, r.Body)
		}
	}
	r := signup(2)
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.String(), `"code":"rate_limited"`) {
		t.Fatalf("third signup from one address = %d %s, want 429 rate_limited", r.Status, r.Body)
	}
	// One every 30 minutes at 2 per hour.
	if after, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || after < 60 || after > 1800 {
		t.Errorf("Retry-After = %q, want the wait for the next signup (at most 1800 s)", r.Header.Get("Retry-After"))
	}
	if r := signup(3, "X-Forwarded-For", "203.0.113.9"); r.Status != http.StatusCreated {
		t.Errorf("signup from another client behind the trusted proxy = %d %s, want 201: the limit is per address", r.Status, r.Body)
	}
}

// The benchmark floor belongs to the process 'aias bench' starts: the
// program that serves the API has no such route, whatever its environment
// says (AIAS_BENCH_FLOOR once turned it on).
func TestTheIngressServesNoBenchmarkRoute(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_BENCH_FLOOR": "true"}})
	if r := s.do("POST", "/bench/floor", "", "", map[string]string{"id": "x"}); r.Status != http.StatusNotFound {
		t.Errorf("POST /bench/floor = %d %s, want 404: the ingress has no benchmark route", r.Status, r.Body)
	}
}

// With AIAS_ADMIN_ACTIONS=true, a page on another site must not pause the
// queues through the operator's cached Basic credentials.
func TestACrossSiteFormCannotPauseTheQueues(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_OPERATOR_TOKEN": operatorToken, "AIAS_ADMIN_ACTIONS": "true", "AIAS_METRICS_ADDR": freeAddr(t)}})
	pause := s.ops + "/admin/queues/api/queues/default:pause"
	paused := func() bool {
		n, err := redistest.Client(t, s.redisURL).Exists(context.Background(), "asynq:{default}:paused").Result() // asynq's pause flag
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	form := func(header ...string) int {
		req, err := http.NewRequest("POST", pause, strings.NewReader(url.Values{"x": {"1"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("operator", operatorToken) // what the browser replays
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	if got := form("Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); got != http.StatusForbidden {
		t.Errorf("cross-site form POST with Basic credentials = %d, want 403", got)
	}
	if got := form(); got != http.StatusForbidden {
		t.Errorf("POST with Basic credentials and no sign of the dashboard's page = %d, want 403", got)
	}
	if paused() {
		t.Fatal("the default queue is paused after refused requests")
	}
	if r := s.do("POST", pause, operatorToken, "", nil); r.Status >= 300 {
		t.Fatalf("POST with the Bearer token = %d %s, want success", r.Status, r.Body)
	}
	if !paused() {
		t.Error("the default queue is not paused after the Bearer request")
	}
}

// An allow-listed network holds more than the service a workflow calls; an
// http step reaches only the ports AIAS_EGRESS_ALLOW_PORTS lists.
func TestAnHTTPStepReachesAnAllowListedAddressOnlyOnTheAllowedPorts(t *testing.T) {
	t.Parallel()
	service, beside := newCounter(t, nil), newCounter(t, nil) // beside: the database, say
	u, err := url.Parse(service.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, options{env: map[string]string{"AIAS_EGRESS_ALLOW_PORTS": u.Port()}})
	acme := s.signup("acme")
	allowed := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, onceWorkflow(service.srv.URL)))
	_, id := s.post(allowed, `{}`)
	if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Errorf("run calling the allowed port = %s (%v), want succeeded", r.Status, r.Error)
	}
	other := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, strings.Replace(onceWorkflow(beside.srv.URL), "name: once", "name: beside", 1)))
	_, id = s.post(other, `{}`)
	r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead")
	if r.Status != "failed" || r.Error == nil || !strings.Contains(*r.Error, "egress refused") || !strings.Contains(*r.Error, "allowed on port "+u.Port()+" only") {
		t.Errorf("run calling another port of the allowed address = %s (%v), want failed, naming the allowed port", r.Status, r.Error)
	}
	if beside.count("/once") != 0 {
		t.Error("the service on the other port was called")
	}
}
