package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/app"
	"aias/internal/config"
	"aias/internal/postgres"
	"aias/internal/testutil/apptest"
	"aias/internal/testutil/logbuf"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/pkg/aias"
)

// system is AIAS running in-process for one test.
type system struct {
	t        *testing.T
	base     string
	ops      string // base URL of the ops listener, "" unless the test set AIAS_METRICS_ADDR
	db       *pgtest.DB
	redisURL string
	app      *app.App
	logs     *syncBuffer
	stop     func()
}

type options struct {
	db          *pgtest.DB          // default: a fresh database
	redisURL    string              // default: a claimed DB of the shared Redis
	databaseURL func(string) string // rewrites the app's DATABASE_URL (e.g. through a proxy)
	env         map[string]string
	role        config.Role    // default: every role
	configure   func(*app.App) // adjusts the app before it serves (a test's tracer, say)
}

// start runs ingress, worker and scheduler (or o.role) on a fresh database
// and Redis DB (internal/testutil/apptest).
func start(t *testing.T, o options) *system {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{DB: o.db, RedisURL: o.redisURL, DatabaseURL: o.databaseURL,
		Env: o.env, Roles: o.role, Configure: o.configure})
	s := &system{t: t, base: srv.Base, db: srv.DB, redisURL: srv.RedisURL, app: srv.App, logs: srv.Logs, stop: srv.Stop}
	if srv.Config.MetricsAddr != "" {
		s.ops = "http://" + srv.Config.MetricsAddr
		s.waitOps()
	}
	return s
}

// waitOps waits until the ops listener answers (it starts beside the
// services, not before them).
func (s *system) waitOps() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(s.ops + "/healthz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the ops listener %s never answered /healthz (last error %v)", s.ops, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tenant is a signed-up tenant with its owner key.
type tenant struct {
	ID  string
	Key string
}

// signup makes a tenant on the business plan, so tests of other features
// are not bounded by the free plan; signupOn chooses the plan.
func (s *system) signup(name string) tenant {
	s.t.Helper()
	return s.signupOn(name, "business")
}

func (s *system) signupOn(name, planName string) tenant {
	s.t.Helper()
	out, err := s.client("").SignUp(context.Background(), aias.SignupRequest{Email: name + "@example.com", TenantName: name})
	if err != nil {
		s.t.Fatalf("SignUp: %v", err)
	}
	if out.TenantID == "" || out.UserID == "" || !strings.HasPrefix(out.APIKey, "aias_") {
		s.t.Fatalf("SignUp = %+v, want tenant_id, user_id and an aias_ key", out)
	}
	if planName != "free" {
		s.setPlan(out.TenantID, planName)
	}
	return tenant{ID: out.TenantID, Key: out.APIKey}
}

// setPlan changes a tenant's plan as the operator (billing sets it later).
func (s *system) setPlan(tenantID, planName string) {
	s.t.Helper()
	s.db.AsOwner(s.t, `UPDATE tenants SET plan = $2 WHERE id = $1`, tenantID, planName)
}

// response is one HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends a request; body may be []byte/string (sent as is) or a value
// (sent as JSON). The exchange is checked against docs/openapi.yaml
// (openapi_test.go).
func (s *system) do(method, path, key, contentType string, body any, header ...string) response {
	s.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		raw = j
		if contentType == "" {
			contentType = "application/json"
		}
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = s.base + path
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	sent := req.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := response{Status: res.StatusCode, Header: res.Header, Body: b}
	s.conforms(exchange{method: method, url: url, header: sent, body: raw, res: r})
	return r
}

// mustJSON sends body as JSON, checks the status and decodes the answer.
func (s *system) mustJSON(method, path, key string, body any, want int, out any) response {
	s.t.Helper()
	r := s.do(method, path, key, "", body)
	if r.Status != want {
		s.t.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	if out != nil {
		r.json(s.t, out)
	}
	return r
}

// createWorkflow saves a YAML definition and returns its id.
func (s *system) createWorkflow(key, yaml string) string {
	s.t.Helper()
	w, err := s.client(key).CreateWorkflow(context.Background(), aias.YAML([]byte(yaml)))
	if err != nil {
		s.t.Fatalf("CreateWorkflow: %v", err)
	}
	return w.ID
}

// createEndpoint makes a token endpoint for a workflow and returns its intake URL.
func (s *system) createEndpoint(key, workflowID string) string {
	s.t.Helper()
	e, err := s.client(key).CreateEndpoint(context.Background(), aias.CreateEndpointRequest{
		WorkflowID: workflowID, Name: "ep", Verification: &aias.VerificationInput{Scheme: aias.SchemeToken}})
	if err != nil {
		s.t.Fatalf("CreateEndpoint: %v", err)
	}
	if !strings.HasPrefix(e.URL, s.base+"/api/webhooks/") || !strings.HasSuffix(e.URL, "/"+e.Token) {
		s.t.Fatalf("endpoint url = %q, want %s/api/webhooks/{tenant}/{token}", e.URL, s.base)
	}
	return e.URL
}

// run reads a run through the API.
func (s *system) run(key, id string) aias.Run {
	s.t.Helper()
	r, err := s.client(key).GetRun(context.Background(), id)
	if err != nil {
		s.t.Fatalf("GetRun %s: %v", id, err)
	}
	return r
}

// status reads a run's status straight from Postgres (the ingress may be stopped).
func (s *system) status(tn tenant, id string) string {
	s.t.Helper()
	var st string
	err := s.db.InTenantTx(context.Background(), uuid.MustParse(tn.ID), func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &st, `SELECT status FROM runs WHERE id = $1`, id)
	})
	if err != nil {
		s.t.Fatalf("read run %s: %v", id, err)
	}
	return st
}

// waitRun polls a run until it reaches one of the statuses (or fails the test).
func (s *system) waitRun(key, id string, statuses ...aias.RunStatus) aias.Run {
	s.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var v aias.Run
	for time.Now().Before(deadline) {
		v = s.run(key, id)
		if slices.Contains(statuses, v.Status) {
			return v
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("run %s is %s (error %v), want one of %v", id, v.Status, v.Error, statuses)
	return v
}

// post sends a webhook and returns the status and the run id.
func (s *system) post(url, body string, header ...string) (int, string) {
	s.t.Helper()
	r := s.do("POST", url, "", "application/json", body, header...)
	var out struct {
		RunID string `json:"run_id"`
	}
	if r.Status < 300 {
		r.json(s.t, &out)
	}
	return r.Status, out.RunID
}

// syncBuffer collects log lines; see package logbuf.
type syncBuffer = logbuf.Buffer

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func redistestServer(t *testing.T) *redistest.Server { return redistest.StartServer(t) }

func ioCopy(w io.Writer, res *http.Response) (int64, error) { return io.Copy(w, res.Body) }

// client is the Go client (pkg/aias) acting with key ("" for the public
// routes), through a transport that holds every exchange to
// docs/openapi.yaml as do does. It does not retry: a test sees every
// answer AIAS gives.
func (s *system) client(key string, opts ...aias.Option) *aias.Client {
	s.t.Helper()
	opts = append([]aias.Option{aias.WithAPIKey(key), aias.WithRetry(aias.NoRetry), aias.WithTimeout(60 * time.Second),
		aias.WithHTTPClient(&http.Client{Transport: conformingTransport{s: s, next: http.DefaultTransport}})}, opts...)
	c, err := aias.New(s.base, opts...)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}
