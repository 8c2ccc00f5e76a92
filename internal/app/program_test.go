package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/app"
	"aias/internal/config"
	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/testutil/logbuf"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/tools/loopback"
)

// These tests run the real programs: the test binary re-executes itself with
// AIAS_TEST_PROGRAM set, and TestMain then calls app.Main exactly as
// cmd/ingress, cmd/worker and cmd/scheduler do, signal handling included.
var programs = map[string]config.Role{
	"aias-ingress":   config.RoleIngress,
	"aias-worker":    config.RoleWorker,
	"aias-scheduler": config.RoleScheduler,
}

func TestMain(m *testing.M) {
	if name := os.Getenv("AIAS_TEST_PROGRAM"); name != "" {
		app.Main(name, programs[name])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testKeys seals secrets in tests: a fresh key, since a production program
// refuses any key written in the repository (config/published.go), and the
// tests start production programs.
var testKeys = keyring.Generate()

// stack is one test's database and Redis, shared by the programs it starts.
type stack struct {
	t     *testing.T
	db    *pgtest.DB
	redis string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return &stack{t: t, db: pgtest.New(t), redis: redistest.New(t)}
}

// program is one running AIAS process.
type program struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	out   *syncBuffer
	done  chan struct{}
	err   error // the exit status, once done is closed
	ended time.Time
}

// env is what every program of the stack is given; extra overrides it.
func (s *stack) env(extra map[string]string) map[string]string {
	env := map[string]string{
		"AIAS_ENV": "dev", "DATABASE_URL": s.db.AppURL, "REDIS_URL": s.redis, "AIAS_ENCRYPTION_KEYS": testKeys,
		"AIAS_EGRESS_ALLOW": "127.0.0.0/8", "AIAS_EGRESS_ALLOW_PORTS": "*", "AIAS_LOG_LEVEL": "debug",
		"AIAS_SIGNUP_ENABLED": "true", "AIAS_METRICS_ADDR": freeAddr(s.t), "AIAS_HTTP_ADDR": freeAddr(s.t),
		"AIAS_RETRY_BASE": "50ms", "AIAS_RETRY_MAX": "200ms",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// start runs the named program with env until the test ends (it is killed
// then if still running).
func start(t *testing.T, name string, env map[string]string) *program {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(cleanEnviron(), "AIAS_TEST_PROGRAM="+name)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &program{t: t, name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.ended = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.out.String(), 40))
		}
	})
	return p
}

// cleanEnviron is the test's environment without any AIAS setting of the
// developer's shell.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AIAS_") || strings.HasPrefix(k, "STRIPE_") || k == "DATABASE_URL" || k == "REDIS_URL" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// sigterm sends SIGTERM and returns when it was sent.
func (p *program) sigterm() time.Time {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	return time.Now()
}

// wait waits up to d for the program to exit and returns its exit status.
func (p *program) wait(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.t.Fatalf("%s still running %s after SIGTERM", p.name, d)
		return nil
	}
}

// exited reports whether the program has ended.
func (p *program) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLog waits for a log line containing s.
func (p *program) waitLog(s string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.out.String(), s) {
		if p.exited() {
			p.t.Fatalf("%s exited (%v) before logging %q", p.name, p.err, s)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s never logged %q", p.name, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReady polls GET base/readyz until it answers 200.
func (p *program) waitReady(base string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if p.exited() {
			p.t.Fatalf("%s exited (%v) before it was ready", p.name, p.err)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s/readyz never answered 200 (last error %v)", p.name, base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startIngress runs the ingress and waits until it is ready (its ops
// listener answers /readyz).
func (s *stack) startIngress(extra map[string]string) (*program, *client) {
	s.t.Helper()
	env := s.env(extra)
	base := "http://" + env["AIAS_HTTP_ADDR"]
	env["AIAS_PUBLIC_URL"] = base
	p := start(s.t, "aias-ingress", env)
	p.waitReady("http://" + env["AIAS_METRICS_ADDR"])
	return p, &client{t: s.t, base: base, ops: "http://" + env["AIAS_METRICS_ADDR"]}
}

// runStatus reads a run's status from Postgres ("" if there is no such run).
func (s *stack) runStatus(tenantID, runID string) string {
	s.t.Helper()
	var st string
	err := s.db.InTenantTx(context.Background(), uuid.MustParse(tenantID), func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &st, `SELECT status FROM runs WHERE id = $1`, runID)
	})
	if err != nil && !postgres.IsNoRows(err) {
		s.t.Fatalf("read run %s: %v", runID, err)
	}
	return st
}

// waitRun polls a run until it has one of the statuses.
func (s *stack) waitRun(tenantID, runID string, statuses ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var st string
	for time.Now().Before(deadline) {
		st = s.runStatus(tenantID, runID)
		for _, want := range statuses {
			if st == want {
				return st
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("run %s is %q, want one of %v", runID, st, statuses)
	return st
}

// client speaks to an ingress.
type client struct {
	t    *testing.T
	base string // the public port
	ops  string // the ops listener
}

func (c *client) do(method, path, key, contentType, body string, want int, out any) {
	c.t.Helper()
	c.doAt(c.base, method, path, key, contentType, body, want, out)
}

// doAt is do against another base URL (the ops listener).
func (c *client) doAt(base, method, path, key, contentType, body string, want int, out any) {
	c.t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("decode %s: %v", b, err)
		}
	}
}

// tenantWithEndpoint signs up a tenant, stores the workflow and returns the
// tenant id and the path of a token endpoint starting it.
func (c *client) tenantWithEndpoint(workflowYAML string) (tenantID, intakePath string) {
	c.t.Helper()
	var su struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	c.do("POST", "/api/v1/signup", "", "application/json", `{"email":"ops@example.com","tenant_name":"ops"}`, 201, &su)
	var wf struct {
		ID string `json:"id"`
	}
	c.do("POST", "/api/v1/workflows", su.APIKey, "application/yaml", workflowYAML, 201, &wf)
	var ep struct {
		URL string `json:"url"`
	}
	c.do("POST", "/api/v1/webhook-endpoints", su.APIKey, "application/json",
		fmt.Sprintf(`{"workflow_id":%q,"name":"ep","verification":{"scheme":"token"}}`, wf.ID), 201, &ep)
	return su.TenantID, strings.TrimPrefix(ep.URL, c.base)
}

// post sends a webhook and returns the run id of the 202.
func (c *client) post(path, body string) string {
	c.t.Helper()
	var out struct {
		RunID string `json:"run_id"`
	}
	c.do("POST", path, "", "application/json", body, http.StatusAccepted, &out)
	return out.RunID
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// rawRequest is an HTTP/1.1 request written by hand, so a test can hold it
// between its headers and its body.
type rawRequest struct {
	conn net.Conn
	r    *bufio.Reader
}

// openRequest sends the headers of a POST with Expect: 100-continue and
// returns once the server's handler has started reading the body (the
// server answers 100 Continue then): the request is in flight.
func openRequest(t *testing.T, addr, path string, bodyLen int) *rawRequest {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, addr, bodyLen)
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 100 ") {
		t.Fatalf("waiting for 100 Continue: %q %v", status, err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			return &rawRequest{conn: conn, r: r}
		}
	}
}

// finish sends the body and reads the response.
func (rq *rawRequest) finish(t *testing.T, body string) (int, []byte) {
	t.Helper()
	if _, err := io.WriteString(rq.conn, body); err != nil {
		t.Fatalf("send body: %v", err)
	}
	res, err := http.ReadResponse(rq.r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// exitCode is a program's exit code (0 for a clean exit).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// syncBuffer collects log lines; see package logbuf.
type syncBuffer = logbuf.Buffer

func tail(s string, n int) string { return logbuf.Tail(s, n) }
