package ingress

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"aias/internal/postgres"
	"aias/internal/telemetry"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/testutil/tcpproxy"
)

// readyChecks asks /readyz and returns its status code and checks.
func readyChecks(t *testing.T, h http.Handler) (int, map[string]string) {
	t.Helper()
	rec := serve(h, "GET", "/readyz")
	var out struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("readyz body %s: %v", rec.Body, err)
	}
	return rec.Code, out.Checks
}

// Readiness tells the truth about a Redis that answers PING but refuses
// writes, and a Postgres pool that gives no connection in time.
func TestReadinessFailsWhenRedisRefusesWritesOrThePoolIsExhausted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := pgtest.New(t)
	db, err := postgres.Open(ctx, pg.AppURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rs := redistest.StartServer(t, "--maxmemory-policy", "noeviction")
	rdb := redistest.Client(t, rs.URL())
	h := Ops(OpsDeps{DB: db, Redis: rdb, Metrics: telemetry.New(), Log: zerolog.Nop()}, OpsOptions{})

	if code, checks := readyChecks(t, h); code != http.StatusOK {
		t.Fatalf("readyz of a healthy system = %d %v, want 200", code, checks)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if code, checks := readyChecks(t, h); code != http.StatusServiceUnavailable || checks["redis"] != "refuses_writes" {
		t.Errorf("readyz with Redis out of memory = %d %v, want 503 with redis refuses_writes", code, checks)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}

	hold, held, done := make(chan struct{}), make(chan struct{}, 2), make(chan error, 2)
	for range 2 {
		go func() {
			done <- db.InTx(ctx, func(q postgres.Querier) error {
				if _, err := q.ExecContext(ctx, `SELECT 1`); err != nil {
					return err
				}
				held <- struct{}{}
				<-hold
				return nil
			})
		}()
	}
	<-held
	<-held
	code, checks := readyChecks(t, h)
	close(hold)
	<-done
	<-done
	if code != http.StatusServiceUnavailable || checks["postgres"] != "busy" {
		t.Errorf("readyz with the pool exhausted = %d %v, want 503 with postgres busy", code, checks)
	}
	if code, checks := readyChecks(t, h); code != http.StatusOK {
		t.Errorf("readyz once a connection is free = %d %v, want 200", code, checks)
	}
}

// A Postgres whose connect hangs (frozen: the connection accepted, nothing
// answered) is unreachable, not busy, and answers within the check's own
// budget; it leaves Redis its own time, so a healthy Redis is ok.
func TestReadinessCallsAHangingPostgresUnreachableAndStillChecksRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := pgtest.New(t)
	u, err := url.Parse(pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpproxy.New(t, u.Host)
	u.Host = proxy.Addr()
	db, err := postgres.Open(ctx, u.String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxIdleConns(0) // each ping opens a connection
	rdb := redistest.Client(t, redistest.New(t))
	h := Ops(OpsDeps{DB: db, Redis: rdb, Metrics: telemetry.New(), Log: zerolog.Nop()}, OpsOptions{})
	if code, checks := readyChecks(t, h); code != http.StatusOK {
		t.Fatalf("readyz of a healthy system = %d %v, want 200", code, checks)
	}

	proxy.Stall()
	defer proxy.Resume()
	started := time.Now()
	code, checks := readyChecks(t, h)
	took := time.Since(started)
	if code != http.StatusServiceUnavailable || checks["postgres"] != "unreachable" || checks["redis"] != "ok" {
		t.Errorf("readyz with Postgres hanging = %d %v, want 503 with postgres unreachable and redis ok", code, checks)
	}
	if took > readyCheckBudget+time.Second {
		t.Errorf("readyz with Postgres hanging took %v, want about its budget (%v)", took, readyCheckBudget)
	}
}
