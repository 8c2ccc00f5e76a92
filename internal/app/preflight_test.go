package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

// A production program refuses to start on a Redis that may evict queue
// keys; in dev it warns and serves.
func TestProductionRefusesARedisThatEvicts(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	srv := redistest.StartServer(t) // private: CONFIG SET is server-wide
	rdb := redistest.Client(t, srv.URL())
	if err := rdb.ConfigSet(context.Background(), "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}

	prod := start(t, "aias-scheduler", s.env(map[string]string{"AIAS_ENV": "production", "REDIS_URL": srv.URL()}))
	if err := prod.wait(20 * time.Second); exitCode(err) != 1 {
		t.Fatalf("production scheduler on an evicting Redis exit = %v, want 1", err)
	}
	if out := prod.out.String(); !strings.Contains(out, "maxmemory-policy") || !strings.Contains(out, "noeviction") {
		t.Errorf("production scheduler output = %q, want it to name maxmemory-policy and noeviction", out)
	}

	env := s.env(map[string]string{"AIAS_ENV": "dev", "REDIS_URL": srv.URL()})
	dev := start(t, "aias-scheduler", env)
	dev.waitReady("http://" + env["AIAS_METRICS_ADDR"])
	if out := dev.out.String(); !strings.Contains(out, `"check":"redis"`) || !strings.Contains(out, "allkeys-lru") {
		t.Errorf("dev scheduler on an evicting Redis logged %q, want a redis check warning naming allkeys-lru", tail(out, 10))
	}
}

// Row-level security is the wall between tenants, and it does not hold for
// a superuser, a BYPASSRLS role or an owner of the tables: started as any of
// these in production, every program refuses to serve, naming the problem;
// in dev it warns and serves.
func TestProductionRefusesADatabaseRoleThatRowLevelSecurityDoesNotConfine(t *testing.T) {
	t.Parallel()
	bypass, owner := loginRole(t, "BYPASSRLS IN ROLE aias_app"), loginRole(t, "IN ROLE aias_app")
	s := newStack(t)
	ownerExec(t, s, fmt.Sprintf(`ALTER TABLE audit_log OWNER TO %s`, owner))
	roles := []struct {
		name, url, problem string
	}{
		{"superuser", s.db.OwnerURL, "is a superuser"},
		{"bypassrls", postgres.WithDatabase(s.db.OwnerURL, s.db.Name, bypass), "has BYPASSRLS"},
		{"table owner", postgres.WithDatabase(s.db.OwnerURL, s.db.Name, owner), "tables, views or sequences"},
	}
	for _, r := range roles {
		for name := range programs {
			prod := start(t, name, s.env(map[string]string{"AIAS_ENV": "production", "DATABASE_URL": r.url}))
			if err := prod.wait(20 * time.Second); exitCode(err) != 1 {
				t.Fatalf("%s as %s in production: exit = %v, want 1", name, r.name, err)
			}
			if out := prod.out.String(); !strings.Contains(out, r.problem) || !strings.Contains(out, "DATABASE_URL") {
				t.Errorf("%s as %s in production said %q, want it to name DATABASE_URL and %q", name, r.name, tail(out, 5), r.problem)
			}
		}
	}

	env := s.env(map[string]string{"AIAS_ENV": "dev", "DATABASE_URL": s.db.OwnerURL})
	dev := start(t, "aias-scheduler", env)
	dev.waitReady("http://" + env["AIAS_METRICS_ADDR"])
	if out := dev.out.String(); !strings.Contains(out, `"check":"database role"`) || !strings.Contains(out, "is a superuser") {
		t.Errorf("dev scheduler as a superuser logged %q, want a database role warning", tail(out, 10))
	}

	env = s.env(map[string]string{"AIAS_ENV": "production"}) // the application role
	start(t, "aias-scheduler", env).waitReady("http://" + env["AIAS_METRICS_ADDR"])
}

// loginRole creates a login role with the given options for the test and
// drops it after the test's databases are gone.
func loginRole(t *testing.T, options string) string {
	t.Helper()
	name := fmt.Sprintf("aias_t_role_%d", time.Now().UnixNano())
	admin, err := postgres.Open(context.Background(), pgtest.AdminURL(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(fmt.Sprintf(`DROP ROLE IF EXISTS %s`, name)); err != nil {
			t.Logf("drop role %s: %v", name, err)
		}
	})
	if _, err := admin.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN %s`, name, options)); err != nil {
		t.Fatal(err)
	}
	return name
}

// ownerExec runs stmt in the stack's database as its owner.
func ownerExec(t *testing.T, s *stack, stmt string) {
	t.Helper()
	db, err := postgres.Open(context.Background(), s.db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
}
