package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/internal/config"
	"aias/internal/testutil/redistest"
	"aias/internal/testutil/tcpproxy"
)

// onceWorkflow calls a recording server once per run with the run's
// Idempotency-Key, so duplicate side effects can be counted.
func onceWorkflow(base string) string {
	return fmt.Sprintf(`
name: once
steps:
  - name: call
    type: http
    with: { method: POST, url: "%s/once", body: "trigger.body" }
`, base)
}

func TestRedisOutageLosesNoAcceptedWebhook(t *testing.T) {
	t.Parallel()
	redis := redistest.StartServer(t)
	s := start(t, options{redisURL: redis.URL()})
	target := newCounter(t, nil)
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, onceWorkflow(target.srv.URL)))

	_, before := s.post(url, `{"n":0}`)
	s.waitRun(acme.Key, before, "succeeded")

	redis.Stop()
	var runs []string
	for i := 1; i <= 10; i++ {
		status, id := s.post(url, fmt.Sprintf(`{"n":%d}`, i))
		if status != http.StatusAccepted {
			t.Fatalf("POST with Redis down = %d, want 202", status)
		}
		runs = append(runs, id)
	}
	if r := s.run(acme.Key, runs[0]); r.Status != "queued" {
		t.Errorf("run accepted during the outage is %s, want queued", r.Status)
	}
	redis.Start() // empty: every task it held is gone

	for _, id := range runs {
		if r := s.waitRun(acme.Key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" || r.Attempt != 1 {
			t.Errorf("run %s = %s on attempt %d, want succeeded on attempt 1", id, r.Status, r.Attempt)
		}
	}
	target.mu.Lock()
	defer target.mu.Unlock()
	for _, id := range append(runs, before) {
		if n := target.keys[id+":call"]; n != 1 {
			t.Errorf("side effect of run %s happened %d times, want 1", id, n)
		}
	}
}

func TestPostgresOutageAnswers503WithRetryAfter(t *testing.T) {
	t.Parallel()
	proxy := tcpproxy.New(t, "127.0.0.1:5432")
	s := start(t, options{databaseURL: func(u string) string { return strings.Replace(u, "127.0.0.1:5432", proxy.Addr(), 1) }})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))

	proxy.Stop()
	r := s.do("POST", url, "", "application/json", `{"order":{"id":"x","total":500}}`)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("POST with Postgres down = %d (Retry-After %q) %s, want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	var p problem
	r.json(t, &p)
	if p.Code != "storage_unavailable" || strings.Contains(r.String(), "dial") {
		t.Errorf("problem = %+v, want code storage_unavailable and no driver detail", p)
	}
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	status, id := s.post(url, `{"order":{"id":"x","total":500}}`)
	if status != http.StatusAccepted {
		t.Fatalf("POST after Postgres returned = %d, want 202", status)
	}
	s.waitRun(acme.Key, id, "succeeded")
}

func (r response) String() string { return string(r.Body) }

// blocker is a target whose first call hangs until the caller gives up.
type blocker struct {
	mu      sync.Mutex
	calls   map[string]int
	started chan struct{}
	srv     *httptest.Server
}

func newBlocker(t *testing.T) *blocker {
	b := &blocker{calls: map[string]int{}, started: make(chan struct{}, 10)}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls[r.URL.Path]++
		first := b.calls[r.URL.Path] == 1
		b.mu.Unlock()
		if r.URL.Path == "/slow" && first {
			b.started <- struct{}{}
			<-r.Context().Done() // hang until the worker's context is canceled
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *blocker) count(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[path]
}

func TestWorkerShutdownHandsAnUnfinishedRunToTheNextWorker(t *testing.T) {
	t.Parallel()
	target := newBlocker(t)
	first := start(t, options{env: map[string]string{"AIAS_WORKER_SHUTDOWN_TIMEOUT": "300ms"}})
	acme := first.signup("acme")
	url := first.createEndpoint(acme.Key, first.createWorkflow(acme.Key, fmt.Sprintf(`
name: slow
steps:
  - { name: quick, type: http, with: { method: POST, url: "%[1]s/quick" } }
  - { name: slow,  type: http, with: { method: POST, url: "%[1]s/slow", timeout: 30s } }
  - { name: last,  type: http, with: { method: POST, url: "%[1]s/last" } }
`, target.srv.URL)))
	_, id := first.post(url, `{}`)
	select {
	case <-target.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow step never started")
	}
	first.stop() // SIGTERM: the slow step outlives the 300ms drain deadline

	if st := first.status(acme, id); st != "running" {
		t.Fatalf("run after the drain deadline is %s, want it still running (handed back)", st)
	}
	second := start(t, options{db: first.db, redisURL: first.redisURL, role: config.RoleWorker | config.RoleScheduler | config.RoleIngress})
	r := second.waitRun(acme.Key, id, "succeeded", "failed", "dead")
	if r.Status != "succeeded" {
		t.Fatalf("run = %s (%v), want succeeded on the second worker", r.Status, r.Error)
	}
	for path, want := range map[string]int{"/quick": 1, "/slow": 2, "/last": 1} {
		if got := target.count(path); got != want {
			t.Errorf("calls to %s = %d, want %d", path, got, want)
		}
	}
}

func TestWorkerShutdownLetsAnInFlightStepFinish(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var calls sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := calls.LoadOrStore(r.URL.Path, new(int))
		*n.(*int)++
		if r.URL.Path == "/step" {
			<-release
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	s := start(t, options{env: map[string]string{"AIAS_WORKER_SHUTDOWN_TIMEOUT": "20s"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: drain
steps:
  - { name: step, type: http, with: { method: POST, url: "%s/step" } }
`, srv.URL)))
	_, id := s.post(url, `{}`)
	deadline := time.Now().Add(30 * time.Second)
	for s.run(acme.Key, id).Status != "running" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { s.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("worker stopped before its in-flight step finished")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	<-stopped
	if st := s.status(acme, id); st != "succeeded" {
		t.Fatalf("run after a drained shutdown is %s, want succeeded", st)
	}
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"errors"`
}

func TestReadinessFollowsRedisAndLivenessDoesNot(t *testing.T) {
	t.Parallel()
	redis := redistest.StartServer(t)
	s := start(t, options{redisURL: redis.URL(), env: map[string]string{"AIAS_METRICS_ADDR": freeAddr(t)}})
	if r := s.do("GET", s.ops+"/readyz", "", "", nil); r.Status != 200 {
		t.Fatalf("/readyz with everything up = %d %s, want 200", r.Status, r.Body)
	}
	redis.Stop()
	r := s.do("GET", s.ops+"/readyz", "", "", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.String(), `"redis":"unreachable"`) {
		t.Errorf("/readyz with Redis down = %d %s, want 503 naming redis", r.Status, r.Body)
	}
	if r := s.do("GET", s.ops+"/readyz?require=postgres", "", "", nil); r.Status != 200 {
		t.Errorf("/readyz?require=postgres with Redis down = %d, want 200: the intake still accepts", r.Status)
	}
	for _, base := range []string{s.ops, s.base} {
		if r := s.do("GET", base+"/healthz", "", "", nil); r.Status != 200 {
			t.Errorf("%s/healthz with Redis down = %d, want 200: the process is alive", base, r.Status)
		}
	}
	redis.Start()
}

func TestMetricsCountIntakeAndRuns(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_METRICS_ADDR": freeAddr(t)}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	_, id := s.post(url, `{"order":{"id":"m","total":500}}`)
	s.waitRun(acme.Key, id, "succeeded")
	m := scrape(t, s, s.ops+"/metrics", "aias_run_end_to_end_duration_seconds_count") // recorded just after the run's commit
	for _, want := range []string{
		`aias_intake_total{outcome="accepted"} 1`,
		`aias_runs_finished_total{status="succeeded"} 1`,
		`aias_run_end_to_end_duration_seconds_count{status="succeeded"} 1`,
		`aias_step_duration_seconds_count{outcome="succeeded",type="artifact"} 1`,
		`aias_http_requests_total{code="202",method="POST",route="/api/webhooks/:tenant_id/:token"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestTheHTTPStepCannotReachPrivateAddressesUnlessAllowed(t *testing.T) {
	t.Parallel()
	target := newCounter(t, nil)
	s := start(t, options{env: map[string]string{"AIAS_EGRESS_ALLOW": ""}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, onceWorkflow(target.srv.URL)))
	_, id := s.post(url, `{}`)
	r := s.waitRun(acme.Key, id, "failed", "dead", "succeeded")
	if r.Status != "failed" || r.Attempt != 1 || r.Error == nil || !strings.Contains(*r.Error, "egress refused") || !strings.Contains(*r.Error, "loopback") {
		t.Errorf("run calling 127.0.0.1 without an allow-list = %s attempt %d (%v), want failed at once naming the rule", r.Status, r.Attempt, r.Error)
	}
	if target.count("/once") != 0 {
		t.Error("the loopback target was called")
	}
}

func TestTheWorkerServesMetricsAndHealthOnItsOwnListener(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	s := start(t, options{role: config.RoleWorker | config.RoleScheduler, env: map[string]string{"AIAS_METRICS_ADDR": addr}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker /readyz never answered 200 (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := s.do("GET", "http://"+addr+"/metrics", "", "", nil); r.Status != 200 || !strings.Contains(r.String(), "go_goroutines") {
		t.Errorf("worker /metrics = %d", r.Status)
	}
}

func TestTheQueueDashboardOpensOnlyWithTheOperatorToken(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_OPERATOR_TOKEN": operatorToken, "AIAS_METRICS_ADDR": freeAddr(t)}})
	acme := s.signup("acme")
	dash := s.ops + "/admin/queues"
	if r := s.do("GET", dash, "", "", nil); r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("dashboard without a token = %d, want 401 with a Basic challenge", r.Status)
	}
	if r := s.do("GET", dash, acme.Key, "", nil); r.Status != 401 {
		t.Errorf("dashboard with a tenant's owner key = %d, want 401", r.Status)
	}
	if r := s.do("GET", dash, operatorToken, "", nil); r.Status != 200 || !strings.Contains(r.String(), "<html") {
		t.Errorf("dashboard with the operator token = %d, want the page", r.Status)
	}
	if r := s.do("GET", "/admin/queues", operatorToken, "", nil); r.Status != 404 {
		t.Errorf("dashboard on the public port = %d, want 404: it is on the ops listener only", r.Status)
	}
	req, _ := http.NewRequest("GET", dash+"/api/queues", nil)
	req.SetBasicAuth("operator", operatorToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("dashboard API with Basic auth = %d, want 200", res.StatusCode)
	}
	// Read-only unless the operator enables actions.
	if r := s.do("DELETE", dash+"/api/queues/default", operatorToken, "", nil); r.Status < 400 {
		t.Errorf("deleting a queue through a read-only dashboard = %d, want a refusal", r.Status)
	}
}

// REDIS_URL may name Sentinels instead of a server: every program asks
// them for the primary, and follows it when a replica is promoted.
func TestRunsGoOnAcrossASentinelFailover(t *testing.T) {
	t.Parallel()
	primary := redistest.StartServer(t)
	replica := redistest.StartReplica(t, primary)
	sentinel := redistest.StartSentinel(t, "aias", primary)
	s := start(t, options{redisURL: fmt.Sprintf("redis-sentinel://127.0.0.1:%d/0?master=aias", sentinel.Port())})
	target := newCounter(t, nil)
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, onceWorkflow(target.srv.URL)))

	_, before := s.post(url, `{"n":0}`)
	s.waitRun(acme.Key, before, "succeeded")

	ctl := redistest.Client(t, fmt.Sprintf("redis://127.0.0.1:%d/0", sentinel.Port()))
	if err := ctl.Do(t.Context(), "SENTINEL", "FAILOVER", "aias").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	promoted := fmt.Sprint(replica.Port())
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		addr, _ := ctl.Do(t.Context(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "aias").StringSlice()
		if len(addr) == 2 && addr[1] == promoted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentinel still names %v as primary, want port %s", addr, promoted)
		}
	}
	primary.Stop() // the old primary is gone for good: nothing may still write to it

	s.deliverAndSucceed(acme.Key, url, 1, 5)
	if n := target.count("/once"); n != 6 {
		t.Errorf("target called %d times, want 6 (one per run)", n)
	}
	// The queue went through the promoted replica: asynq counted every
	// task there (the first one replicated before the failover), rather
	// than the sweep picking up runs whose enqueue had failed.
	promotedClient := redistest.Client(t, fmt.Sprintf("redis://127.0.0.1:%d/0", replica.Port()))
	if n, err := promotedClient.Get(t.Context(), "asynq:{default}:processed").Int(); err != nil || n < 6 {
		t.Errorf("tasks processed through the promoted replica = %d (%v), want at least 6", n, err)
	}
}

// deliverAndSucceed posts deliveries {"n":from} .. {"n":from+count-1}, each
// answered 202, and waits for each run to succeed.
func (s *system) deliverAndSucceed(key, hook string, from, count int) {
	s.t.Helper()
	var ids []string
	for i := from; i < from+count; i++ {
		status, id := s.post(hook, fmt.Sprintf(`{"n":%d}`, i))
		if status != 202 {
			s.t.Fatalf("delivery %d = %d, want 202", i, status)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if r := s.waitRun(key, id, "succeeded", "failed", "dead"); r.Status != "succeeded" {
			s.t.Errorf("run %s = %s, want succeeded", id, r.Status)
		}
	}
}

// REDIS_URL may name a Redis Cluster: the queue (asynq keeps each queue in
// one hash slot), the per-tenant slots, quotas and rate limits (one key per
// script) all work across its primaries.
func TestRunsGoThroughARedisCluster(t *testing.T) {
	t.Parallel()
	cluster := redistest.StartCluster(t)
	s := start(t, options{redisURL: cluster.URL})
	target := newCounter(t, nil)
	acme := s.signup("acme")
	hook := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, onceWorkflow(target.srv.URL)))
	s.deliverAndSucceed(acme.Key, hook, 0, 10)
	// asynq counted the tasks in the cluster (not the sweep picking up runs
	// whose enqueue failed).
	processed, _ := cluster.Client(t).Get(t.Context(), "asynq:{default}:processed").Int()
	if processed < 10 {
		t.Errorf("tasks processed through the cluster = %d, want at least 10", processed)
	}
	if strings.Contains(s.logs.String(), "failing open") {
		t.Error("the rate limiter fell back to its in-process store: its script failed on the cluster")
	}
}
