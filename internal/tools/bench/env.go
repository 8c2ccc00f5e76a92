package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"aias/internal/postgres"
	"aias/internal/tools/bench/floor"
)

// appRole is the login role the programs use: in aias_app, nothing more,
// so row-level security is in force as in production.
const appRole = "aias_bench_app"

// benchKeys is the bench's key-encryption key (it seals nothing of value).
const benchKeys = "bench1:YWlhcy1iZW5jaC1vbmx5LWtleS0zMi1ieXRlcyEhISE="

// env is the private database and Redis DB of one bench run.
type env struct {
	adminURL string // the server's superuser, database postgres
	dbName   string
	ownerURL string
	appURL   string
	owner    *postgres.DB
	app      *postgres.DB

	redisBase string
	redisDB   int
	redisURL  string
	claimKey  string
	token     string
	rdb       *redis.Client
}

// setupDB creates a fresh database, migrates it and makes the app role.
func setupDB(ctx context.Context, adminURL string) (*env, error) {
	e := &env{adminURL: adminURL, dbName: fmt.Sprintf("aias_bench_%d_%d", os.Getpid(), time.Now().Unix())}
	admin, err := postgres.Open(ctx, adminURL, 1)
	if err != nil {
		return nil, err
	}
	defer func() { _ = admin.Close() }()
	dropStale(ctx, admin)
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, e.dbName)); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	e.ownerURL = postgres.WithDatabase(adminURL, e.dbName, "")
	e.appURL = postgres.WithDatabase(adminURL, e.dbName, appRole)
	if _, err := postgres.Migrate(ctx, e.ownerURL); err != nil {
		return e, err
	}
	if e.owner, err = postgres.Open(ctx, e.ownerURL, 4); err != nil {
		return e, err
	}
	_, err = e.owner.ExecContext(ctx, fmt.Sprintf(`DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%[1]s') THEN
			CREATE ROLE %[1]s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE aias_app;
		END IF;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`, appRole))
	if err != nil {
		return e, fmt.Errorf("create role: %w", err)
	}
	if _, err := e.owner.ExecContext(ctx, floor.Table); err != nil {
		return e, fmt.Errorf("create the floor table: %w", err)
	}
	if e.app, err = postgres.Open(ctx, e.appURL, 16); err != nil {
		return e, err
	}
	return e, nil
}

// dropStale drops the databases of benches killed over two hours ago (a
// finished bench drops its own); the name carries its start time.
func dropStale(ctx context.Context, admin *postgres.DB) {
	var names []string
	if err := admin.SelectContext(ctx, &names, `SELECT datname FROM pg_database WHERE datname LIKE 'aias\_bench\_%'`); err != nil {
		return
	}
	for _, n := range names {
		parts := strings.Split(n, "_")
		started, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if err != nil || time.Since(time.Unix(started, 0)) < 2*time.Hour {
			continue
		}
		_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, n))
	}
}

// claimRedis takes a free logical database the way the tests do (a lease
// key in DB 0), so the bench and the tests never share one.
func (e *env) claimRedis(ctx context.Context, base string) error {
	opt, err := redis.ParseURL(base)
	if err != nil {
		return err
	}
	opt.DB = 0
	ctl := redis.NewClient(opt)
	defer func() { _ = ctl.Close() }()
	e.token = fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	deadline := time.Now().Add(3 * time.Minute) // as long as the tests wait
	for time.Now().Before(deadline) {
		for n := 15; n >= 1; n-- { // from the top: the tests take from the bottom
			key := fmt.Sprintf("aias:test:claim:%d", n)
			ok, err := ctl.SetNX(ctx, key, e.token, 20*time.Minute).Result()
			if err != nil {
				return fmt.Errorf("redis at %s: %w", base, err)
			}
			if ok {
				o := *opt
				o.DB = n
				rdb := redis.NewClient(&o)
				// A database with keys in it is in use by something that did
				// not take the lease (a development server, say): its workers
				// would take the bench's tasks, and emptying it would lose
				// its data. Leave it and its lease.
				if size, err := rdb.DBSize(ctx).Result(); err != nil || size > 0 {
					_ = rdb.Close()
					_ = ctl.Del(ctx, key).Err()
					continue
				}
				e.redisBase, e.redisDB, e.claimKey = base, n, key
				e.rdb = rdb
				u, _ := url.Parse(base)
				u.Path = "/" + strconv.Itoa(n)
				e.redisURL = u.String()
				return e.rdb.FlushDB(ctx).Err()
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no free Redis database (1..15) within 3 minutes")
}

// resetQueue empties the bench's own Redis DB between phases.
func (e *env) resetQueue(ctx context.Context) error { return e.rdb.FlushDB(ctx).Err() }

// close drops the database and releases the Redis DB.
func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if e.app != nil {
		_ = e.app.Close()
	}
	if e.owner != nil {
		_ = e.owner.Close()
	}
	if admin, err := postgres.Open(ctx, e.adminURL, 1); err == nil {
		_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, e.dbName))
		_ = admin.Close()
	}
	if e.rdb != nil {
		_ = e.rdb.FlushDB(ctx).Err()
		_ = e.rdb.Close()
		opt, _ := redis.ParseURL(e.redisBase)
		opt.DB = 0
		ctl := redis.NewClient(opt)
		if v, _ := ctl.Get(ctx, e.claimKey).Result(); v == e.token {
			_ = ctl.Del(ctx, e.claimKey).Err()
		}
		_ = ctl.Close()
	}
}

// programEnv is the environment of the ingress and worker processes.
func (e *env) programEnv(logLevel string, dbConns int) map[string]string {
	return map[string]string{
		"AIAS_ENV": "dev", "DATABASE_URL": e.appURL, "REDIS_URL": e.redisURL, "AIAS_ENCRYPTION_KEYS": benchKeys,
		"AIAS_LOG_LEVEL": logLevel, "AIAS_LOG_FORMAT": "json", "AIAS_DB_MAX_CONNS": strconv.Itoa(dbConns),
		// One client IP and one endpoint send everything: the limiters would
		// measure themselves. They are on by default in production.
		"AIAS_RATE_LIMIT_IP_PER_SECOND": "0", "AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "0",
		// The bench signs its tenant up; the ops listener is opened only
		// where the bench reads it (the workers' readiness).
		"AIAS_SIGNUP_ENABLED": "true", "AIAS_METRICS_ADDR": "off",
	}
}

// tenantSetup is the bench tenant: a workflow and its signed endpoint.
type tenantSetup struct {
	TenantID   string
	WorkflowID string
	Version    int
	EndpointID string
	URL        string
	Secret     string
	// IO is the I/O-bound workflow (ioWorkflow) and its endpoint.
	IO flow
}

// flow is a workflow version runs are stored for, with its endpoint.
type flow struct {
	WorkflowID string
	Version    int
	EndpointID string
}

// main is the bench workflow's flow.
func (t tenantSetup) main() flow {
	return flow{WorkflowID: t.WorkflowID, Version: t.Version, EndpointID: t.EndpointID}
}

// ioWorkflow is two http steps, each waiting on the bench's slow target
// (ioTarget: it answers after 50 ms) at %s.
const ioWorkflow = `name: bench-io
steps:
  - name: lookup
    type: http
    with: { url: "%[1]s/lookup/{{ trigger.body.id }}", method: GET }
  - name: notify
    type: http
    with: { url: "%[1]s/notify", body: "{'id': trigger.body.id, 'status': steps.lookup.output.status}" }
`

// benchWorkflow is three steps, the last writing the trigger's pad (4 KB by
// default) as an artifact.
const benchWorkflow = `name: bench
steps:
  - name: normalize
    type: transform
    with: { output: { id: "trigger.body.id", total: "trigger.body.total * 1.2" } }
  - name: classify
    type: transform
    with: { output: { id: "steps.normalize.output.id", large: "steps.normalize.output.total > 100" } }
  - name: receipt
    type: artifact
    with: { name: "receipt-{{ steps.normalize.output.id }}.txt", content_type: "text/plain", content: "trigger.body.pad" }
`

// makeTenant signs up through the API, lifts the tenant to the business plan
// (its limits do not bound the bench) and creates the workflow and endpoint.
func (e *env) makeTenant(ctx context.Context, base, ioTarget string) (tenantSetup, error) {
	var t tenantSetup
	var su struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	if err := call(ctx, base+"/api/v1/signup", "", "application/json", `{"email":"bench@example.com","tenant_name":"bench"}`, &su); err != nil {
		return t, err
	}
	t.TenantID = su.TenantID
	if _, err := e.owner.ExecContext(ctx, `UPDATE tenants SET plan = 'business' WHERE id = $1`, su.TenantID); err != nil {
		return t, err
	}
	var wf struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	if err := call(ctx, base+"/api/v1/workflows", su.APIKey, "application/yaml", benchWorkflow, &wf); err != nil {
		return t, err
	}
	t.WorkflowID, t.Version = wf.ID, wf.Version
	var ep struct {
		ID     string `json:"id"`
		URL    string `json:"url"`
		Secret string `json:"signing_secret"`
	}
	body := fmt.Sprintf(`{"workflow_id":%q,"name":"bench","verification":{"scheme":"standard-webhooks"}}`, wf.ID)
	if err := call(ctx, base+"/api/v1/webhook-endpoints", su.APIKey, "application/json", body, &ep); err != nil {
		return t, err
	}
	t.EndpointID, t.URL, t.Secret = ep.ID, ep.URL, ep.Secret
	if err := call(ctx, base+"/api/v1/workflows", su.APIKey, "application/yaml", fmt.Sprintf(ioWorkflow, ioTarget), &wf); err != nil {
		return t, err
	}
	t.IO.WorkflowID, t.IO.Version = wf.ID, wf.Version
	body = fmt.Sprintf(`{"workflow_id":%q,"name":"bench-io","verification":{"scheme":"standard-webhooks"}}`, wf.ID)
	if err := call(ctx, base+"/api/v1/webhook-endpoints", su.APIKey, "application/json", body, &ep); err != nil {
		return t, err
	}
	t.IO.EndpointID = ep.ID
	return t, nil
}

func call(ctx context.Context, u, key, ct, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", u, res.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
