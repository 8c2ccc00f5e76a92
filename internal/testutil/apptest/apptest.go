// Package apptest runs AIAS in a test's own process — the roles it asks
// for, on a loopback port, on the test's database and Redis DB — until the
// test ends: what the end-to-end tests, the console's browser tests and
// the CLI's tests all stand on.
package apptest

import (
	"context"
	"net"
	"sync"
	"testing"

	"aias/internal/app"
	"aias/internal/config"
	"aias/internal/logging"
	"aias/internal/testutil/logbuf"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

// Keys seal secrets in tests (a test value, never a real key).
const Keys = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" //nolint:gosec // a test key, sealing test secrets only

// Options adjust a Server; the zero value runs every role on a fresh
// database and Redis DB.
type Options struct {
	DB          *pgtest.DB          // default: a fresh database
	RedisURL    string              // default: a claimed DB of the shared Redis
	DatabaseURL func(string) string // rewrites the app's DATABASE_URL (through a proxy, say)
	Env         map[string]string   // over the defaults of env below
	Roles       config.Role         // default: ingress, worker and scheduler
	Configure   func(*app.App)      // adjusts the app before it serves
}

// Server is AIAS serving for one test.
type Server struct {
	Base     string // http://127.0.0.1:port
	DB       *pgtest.DB
	RedisURL string
	App      *app.App
	Config   config.Config
	Logs     *logbuf.Buffer // every log line, at debug
	stop     func()
}

// env is the environment every test's AIAS starts from: development mode,
// fast retries and sweeps, the tests' local targets allowed, signup open.
func env(base, dbURL, redisURL string) map[string]string {
	return map[string]string{
		"AIAS_ENV": "dev", "DATABASE_URL": dbURL, "REDIS_URL": redisURL, "AIAS_ENCRYPTION_KEYS": Keys,
		// The tests' local targets, on the ports httptest picks.
		"AIAS_EGRESS_ALLOW": "127.0.0.0/8", "AIAS_EGRESS_ALLOW_PORTS": "*",
		"AIAS_METRICS_ADDR": "off", // tests that want the ops listener pick a port
		// Tests sign tenants up; one test proves the per-IP limit with a low one.
		"AIAS_SIGNUP_ENABLED": "true", "AIAS_SIGNUP_RATE_PER_HOUR": "1000",
		"AIAS_PUBLIC_URL": base, "AIAS_LOG_LEVEL": "debug",
		"AIAS_RETRY_BASE": "50ms", "AIAS_RETRY_MAX": "200ms",
		"AIAS_SWEEP_INTERVAL": "200ms", "AIAS_SWEEP_QUEUED_GRACE": "1s", "AIAS_SWEEP_RUNNING_STALE": "10s",
		"AIAS_WORKER_CONCURRENCY": "4", "AIAS_WORKER_SHUTDOWN_TIMEOUT": "2s", "AIAS_SHUTDOWN_TIMEOUT": "10s",
		// Tests posting a hundred requests at once on a shared machine must
		// not be shed with 503 (a test that proves the shedding sets a
		// short wait).
		"AIAS_DB_CONN_WAIT": "10s",
	}
}

// Start runs AIAS for t until t ends (or Stop). When t fails, the end of
// the logs is in its output.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	s := &Server{DB: o.DB, RedisURL: o.RedisURL, Logs: &logbuf.Buffer{}}
	if s.DB == nil {
		s.DB = pgtest.New(t)
	}
	if s.RedisURL == "" {
		s.RedisURL = redistest.New(t)
	}
	if o.Roles == 0 {
		o.Roles = config.RoleIngress | config.RoleWorker | config.RoleScheduler
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Base = "http://" + ln.Addr().String()
	dbURL := s.DB.AppURL
	if o.DatabaseURL != nil {
		dbURL = o.DatabaseURL(dbURL)
	}
	vars := env(s.Base, dbURL, s.RedisURL)
	for k, v := range o.Env {
		vars[k] = v
	}
	if s.Config, err = config.Load(func(k string) string { return vars[k] }, config.RoleDev); err != nil {
		t.Fatal(err)
	}
	if s.App, err = app.New(context.Background(), s.Config, logging.New(s.Logs, logging.Options{Level: "debug"})); err != nil {
		t.Fatal(err)
	}
	if o.Configure != nil {
		o.Configure(s.App)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.App.Serve(ctx, o.Roles, ln) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			s.App.Close()
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("logs:\n%s", logbuf.Tail(s.Logs.String(), 60))
		}
	})
	return s
}

// Stop stops serving (as SIGTERM would) and closes the app; the test's end
// does it otherwise.
func (s *Server) Stop() { s.stop() }
