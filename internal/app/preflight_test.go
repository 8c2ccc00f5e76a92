package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
