package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"aias/internal/config"
	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/testutil/tcpproxy"
)

// With every connection of the pool taken (Postgres too slow for the load),
// the intake and the API answer 503 storage_unavailable with Retry-After
// once their wait for a connection ends, not 500 at the request deadline;
// once a connection is free, deliveries are accepted again.
func TestExhaustedPoolAnswers503StorageUnavailable(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_DB_MAX_CONNS": "2", "AIAS_DB_CONN_WAIT": "200ms",
		"AIAS_ENDPOINT_CACHE_TTL": "0"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))

	release := pgtest.HoldPool(t, s.app.DB, 2)
	defer release()
	for name, r := range map[string]response{
		"intake": s.do("POST", url, "", "application/json", `{"order":{"id":"x","total":5}}`),
		"api":    s.do("GET", "/api/v1/runs", acme.Key, "", nil),
	} {
		var p problem
		r.json(t, &p)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || p.Code != "storage_unavailable" {
			t.Errorf("%s with the pool exhausted = %d %q (Retry-After %q), want 503 storage_unavailable with Retry-After",
				name, r.Status, p.Code, r.Header.Get("Retry-After"))
		}
	}
	release()
	if status, id := s.post(url, `{"order":{"id":"y","total":5}}`); status != http.StatusAccepted {
		t.Fatalf("POST with a connection free = %d, want 202", status)
	} else {
		s.waitRun(acme.Key, id, "succeeded")
	}
}

// redisRig is a system whose Redis (a server of its own) sits behind a
// proxy that can stall it, with a tenant's endpoint of onceWorkflow that
// has run once, and an intake enqueue budget of 100 ms.
type redisRig struct {
	*system
	redis  *redistest.Server
	proxy  *tcpproxy.Proxy
	target *counter
	acme   tenant
	url    string
}

func behindRedisProxy(t *testing.T) redisRig {
	t.Helper()
	r := redisRig{redis: redistest.StartServer(t), target: newCounter(t, nil)}
	r.proxy = tcpproxy.New(t, "127.0.0.1:"+strconv.Itoa(r.redis.Port()))
	r.system = start(t, options{redisURL: "redis://" + r.proxy.Addr() + "/0", env: map[string]string{"AIAS_INTAKE_ENQUEUE_BUDGET": "100ms"}})
	r.acme = r.signup("acme")
	r.url = r.createEndpoint(r.acme.Key, r.createWorkflow(r.acme.Key, onceWorkflow(r.target.srv.URL)))
	if status, id := r.post(r.url, `{"n":0}`); status != http.StatusAccepted {
		t.Fatalf("POST = %d", status)
	} else {
		r.waitRun(r.acme.Key, id, "succeeded")
	}
	return r
}

// A frozen Redis (its connections open, nothing answered, as under
// SIGSTOP) costs a delivery the enqueue budget, not the queue client's
// timeouts: every delivery is answered 202 within a sender's 3 s timeout
// (Slack's), its run committed first; when Redis comes back every run is
// enqueued (in the background, or by the sweep) and succeeds once.
func TestFrozenRedisCostsTheIntakeItsBudget(t *testing.T) {
	t.Parallel()
	r := behindRedisProxy(t)

	r.proxy.Stall()
	sender := &http.Client{Timeout: 3 * time.Second}
	var runs []string
	for i := 1; i <= 5; i++ {
		res, err := sender.Post(r.url, "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatalf("delivery %d with Redis frozen: %v (not answered within the sender's timeout)", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d with Redis frozen = %d %s, want 202", i, res.StatusCode, b)
		}
		id := strings.Split(strings.Split(string(b), `"run_id":"`)[1], `"`)[0]
		if st := r.status(r.acme, id); st != "queued" {
			t.Errorf("run %s accepted while Redis is frozen is %s, want queued (committed)", id, st)
		}
		runs = append(runs, id)
	}
	r.proxy.Resume()
	for _, id := range runs {
		if run := r.waitRun(r.acme.Key, id, "succeeded", "failed", "dead"); run.Status != "succeeded" {
			t.Errorf("run %s = %s, want succeeded", id, run.Status)
		}
	}
	r.target.mu.Lock()
	defer r.target.mu.Unlock()
	for _, id := range runs {
		if n := r.target.keys[id+":call"]; n != 1 {
			t.Errorf("side effect of run %s happened %d times, want 1", id, n)
		}
	}
}

// A delivery accepted while Redis is frozen whose enqueue never lands (the
// background enqueue gives up, then Redis is restarted empty, as an
// operator restarts a hung server) is an orphan: a queued run with no
// task. The sweep finds it and enqueues it, and it runs once.
func TestSweepEnqueuesARunOrphanedByAFrozenRedis(t *testing.T) {
	t.Parallel()
	r := behindRedisProxy(t)
	sweptBefore := promtest.ToFloat64(r.app.Metrics.SweepReenqueued)

	r.proxy.Stall()
	status, id := r.post(r.url, `{"n":1}`)
	if status != http.StatusAccepted {
		t.Fatalf("POST with Redis frozen = %d, want 202", status)
	}
	// The background enqueue gives up (the queue client's timeout) while
	// Redis is still frozen.
	deadline := time.Now().Add(15 * time.Second)
	for !logged(r.logs.String(), id, "enqueue failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed enqueue logged for run %s within 15 s; logs:\n%s", id, r.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.redis.Stop() // what the frozen server held, the held enqueue with it, is gone
	r.redis.Start()
	r.proxy.Resume()

	if run := r.waitRun(r.acme.Key, id, "succeeded", "failed", "dead"); run.Status != "succeeded" || run.Attempt != 1 {
		t.Errorf("orphaned run %s = %s on attempt %d, want succeeded on attempt 1", id, run.Status, run.Attempt)
	}
	if swept := promtest.ToFloat64(r.app.Metrics.SweepReenqueued) - sweptBefore; swept < 1 {
		t.Errorf("aias_sweep_enqueued_total grew by %v, want >= 1 (the orphan came back through the sweep)", swept)
	}
	r.target.mu.Lock()
	defer r.target.mu.Unlock()
	if n := r.target.keys[id+":call"]; n != 1 {
		t.Errorf("side effect of run %s happened %d times, want 1", id, n)
	}
}

// logged reports whether a line of logs holds every one of words.
func logged(logs string, words ...string) bool {
	for line := range strings.SplitSeq(logs, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}

// A body trickling in is cut at the body timeout, long before the request
// deadline, with 408 body_timeout; a normal delivery beside it is accepted.
func TestTricklingBodyIsCutAtTheBodyTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_BODY_TIMEOUT": "500ms", "AIAS_REQUEST_TIMEOUT": "30s"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	path := strings.TrimPrefix(url, s.base)

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	body := `{"order":{"id":"slow","total":5}}`
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, len(body))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte every 200 ms: the body would take 7 s
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	// Well before the body could arrive (7 s), and before the server would
	// have read the rest of it had it waited for it: the answer comes at the
	// body timeout and the connection closes.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickling body: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"body_timeout"`) {
		t.Fatalf("trickling body = %d %s, want 408 body_timeout", res.StatusCode, b)
	}
	if status, _ := s.post(url, `{"order":{"id":"fast","total":5}}`); status != http.StatusAccepted {
		t.Fatalf("a normal delivery beside it = %d, want 202", status)
	}
}

// A worker that stops mid-run (its Postgres frozen: no heartbeat, no write,
// while the queue still thinks it alive) loses the run within seconds: the
// scheduler sees the heartbeat stop, gives the run a task of its own, and
// another worker continues it. When the first worker wakes, the attempt
// fence refuses its writes: the run succeeds once, each step recorded once,
// every call to the target under the same idempotency key.
func TestRunOfAStoppedWorkerContinuesOnAnother(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		calls = map[string][]string{} // path → Idempotency-Key of each call
	)
	release, started := make(chan struct{}), make(chan struct{}, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path] = append(calls[r.URL.Path], r.Header.Get("Idempotency-Key"))
		first := len(calls[r.URL.Path]) == 1
		mu.Unlock()
		if r.URL.Path == "/slow" && first {
			started <- struct{}{}
			<-release
		}
		w.WriteHeader(200)
	}))
	defer target.Close()
	defer close(release)
	env := map[string]string{"AIAS_RUN_HEARTBEAT": "200ms", "AIAS_RUN_RECLAIM_AFTER": "1s", "AIAS_RECLAIM_INTERVAL": "200ms",
		"AIAS_SWEEP_RUNNING_STALE": "5m"} // the reclaim, not the stale sweep
	front := start(t, options{env: env, role: config.RoleIngress | config.RoleScheduler})
	proxy := tcpproxy.New(t, "127.0.0.1:5432")
	firstEnv := map[string]string{"AIAS_WORKER_CONCURRENCY": "1"} // frozen, it takes no reclaim task
	for k, v := range env {
		firstEnv[k] = v
	}
	first := start(t, options{db: front.db, redisURL: front.redisURL, env: firstEnv, role: config.RoleWorker,
		databaseURL: func(u string) string { return strings.Replace(u, "127.0.0.1:5432", proxy.Addr(), 1) }})
	acme := front.signup("acme")
	url := front.createEndpoint(acme.Key, front.createWorkflow(acme.Key, fmt.Sprintf(`
name: slow
steps:
  - { name: quick, type: http, with: { method: POST, url: "%[1]s/quick" } }
  - { name: slow,  type: http, with: { method: POST, url: "%[1]s/slow", timeout: 60s } }
  - { name: last,  type: http, with: { method: POST, url: "%[1]s/last" } }
`, target.URL)))
	_, id := front.post(url, `{}`)
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow step never started")
	}
	proxy.Stall()           // the first worker freezes: no heartbeat, no write
	t.Cleanup(proxy.Resume) // before the first worker's stop, which needs its Postgres
	second := start(t, options{db: front.db, redisURL: front.redisURL, env: env, role: config.RoleWorker})
	_ = second
	r := front.waitRun(acme.Key, id, "succeeded", "failed", "dead")
	if r.Status != "succeeded" || r.Attempt != 2 {
		t.Fatalf("run = %s on attempt %d (%v), want succeeded on attempt 2 (the second worker's)", r.Status, r.Attempt, r.Error)
	}
	release <- struct{}{} // the first worker's call returns …
	proxy.Resume()        // … and it wakes: its writes must be refused
	time.Sleep(time.Second)
	first.stop()
	var steps []struct {
		Name   string `db:"name"`
		Status string `db:"status"`
	}
	if err := front.db.InTenantTx(context.Background(), uuid.MustParse(acme.ID), func(q postgres.Querier) error {
		return q.SelectContext(context.Background(), &steps, `SELECT name, status FROM run_steps WHERE run_id = $1 AND tenant_id = $2 ORDER BY position`, id, acme.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Errorf("step records = %+v, want one per step", steps)
	}
	if st := front.status(acme, id); st != "succeeded" {
		t.Errorf("run after the first worker woke = %s, want succeeded", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for path, keys := range calls {
		for _, k := range keys {
			if k != keys[0] {
				t.Errorf("calls to %s carried idempotency keys %v, want one", path, keys)
				break
			}
		}
	}
	if n := len(calls["/last"]); n != 1 {
		t.Errorf("the step after the reclaimed one was called %d times, want 1", n)
	}
}
