package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"aias/internal/queue"
	"aias/internal/testutil/redistest"
	"aias/internal/tools/loopback"
)

// The checks run against private redis-server processes, never the shared
// test Redis: CONFIG SET is server-wide and other packages' tests use it.

func TestCheckRedisSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		policy, aof  string
		save         string
		production   bool
		wantErr      bool
		wantWarnings []string // substrings, one per warning, in order
	}{
		{"noeviction with AOF", "noeviction", "yes", "", true, false, nil},
		{"noeviction with snapshots only", "noeviction", "no", "3600 1", true, false, nil},
		{"persistence off", "noeviction", "no", "", true, false, []string{"persistence is off"}},
		{"eviction in production", "allkeys-lru", "yes", "", true, true, nil},
		{"volatile eviction in production", "volatile-lru", "yes", "", true, true, nil},
		{"eviction in dev", "allkeys-lru", "no", "", false, false, []string{`maxmemory-policy is "allkeys-lru"`, "persistence is off"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rdb := privateRedis(t)
			for k, v := range map[string]string{"maxmemory-policy": tc.policy, "appendonly": tc.aof, "save": tc.save} {
				if err := rdb.ConfigSet(context.Background(), k, v).Err(); err != nil {
					t.Fatalf("CONFIG SET %s %q: %v", k, v, err)
				}
			}
			warnings, err := queue.CheckRedis(context.Background(), rdb, tc.production)
			if gotErr := errors.Is(err, queue.ErrRedisEvicts); gotErr != tc.wantErr || (err != nil && !gotErr) {
				t.Fatalf("CheckRedis(production=%v) error = %v, want ErrRedisEvicts: %v", tc.production, err, tc.wantErr)
			}
			if tc.wantErr {
				if !strings.Contains(err.Error(), tc.policy) || !strings.Contains(err.Error(), "noeviction") {
					t.Errorf("CheckRedis error = %q, want it to name %q and noeviction", err, tc.policy)
				}
				return
			}
			if len(warnings) != len(tc.wantWarnings) {
				t.Fatalf("CheckRedis warnings = %q, want %d containing %q", warnings, len(tc.wantWarnings), tc.wantWarnings)
			}
			for i, w := range tc.wantWarnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("CheckRedis warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
			}
		})
	}
}

func TestCheckRedisWarnsWhenCONFIGIsDisabled(t *testing.T) {
	t.Parallel()
	// what managed services do: CONFIG renamed away
	rdb := privateRedis(t, "--rename-command", "CONFIG", "")
	warnings, err := queue.CheckRedis(context.Background(), rdb, true)
	if err != nil {
		t.Fatalf("CheckRedis without CONFIG error = %v, want nil (warn and continue)", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "cannot read Redis settings") || !strings.Contains(warnings[0], "noeviction") {
		t.Errorf("CheckRedis without CONFIG warnings = %q, want one saying the settings cannot be read and naming noeviction", warnings)
	}
}

func TestCheckRedisWarnsWhenRedisIsUnreachable(t *testing.T) {
	t.Parallel()
	addr, err := loopback.FreeAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	warnings, err := queue.CheckRedis(context.Background(), rdb, true)
	if err != nil {
		t.Fatalf("CheckRedis with Redis down error = %v, want nil: programs start without Redis", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "unreachable") {
		t.Errorf("CheckRedis with Redis down warnings = %q, want one saying Redis is unreachable", warnings)
	}
}

// privateRedis starts a redis-server of its own for t (empty, nothing
// persisted, noeviction: the server defaults, plus extra arguments) and
// connects to it.
func privateRedis(t *testing.T, extra ...string) *redis.Client {
	t.Helper()
	return redistest.Client(t, redistest.StartServer(t, extra...).URL())
}

// A cluster's nodes are configured one by one: every primary is read, and
// one that evicts stops a production program whichever node a command
// would have reached.
func TestCheckRedisReadsEveryPrimaryOfACluster(t *testing.T) {
	t.Parallel()
	cluster := redistest.StartCluster(t)
	evicting := cluster.Nodes[2]
	if err := redistest.Client(t, evicting.URL()).ConfigSet(context.Background(), "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	rdb := cluster.Client(t)
	for range 5 {
		_, err := queue.CheckRedis(context.Background(), rdb, true)
		if !errors.Is(err, queue.ErrRedisEvicts) || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", evicting.Port())) {
			t.Fatalf("CheckRedis on a cluster with one evicting primary = %v, want ErrRedisEvicts naming that node", err)
		}
	}
}

// Readiness on a cluster asks every primary: with one of three down, a
// third of the keys cannot be reached, though any other node answers PING.
func TestPingRedisOfAClusterNeedsEveryPrimary(t *testing.T) {
	t.Parallel()
	cluster := redistest.StartCluster(t)
	rdb := cluster.Client(t)
	ctx := context.Background()
	if err := queue.PingRedis(ctx, rdb); err != nil {
		t.Fatalf("PingRedis of a healthy cluster = %v", err)
	}
	cluster.Nodes[1].Stop()
	if err := queue.PingRedis(ctx, rdb); err == nil {
		t.Error("PingRedis with a primary down = nil, want an error")
	}
}

// PING alone says a Redis that is out of memory under noeviction, or a
// read-only replica, is fine; the probe writes, and names the refusal.
func TestProbeRedisFailsWhenRedisRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := redistest.StartServer(t, "--maxmemory-policy", "noeviction")
	c := redistest.Client(t, primary.URL())
	if err := queue.ProbeRedis(ctx, c); err != nil {
		t.Fatalf("probe of a healthy Redis: %v", err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := queue.PingRedis(ctx, c); err != nil {
		t.Fatalf("PING of a full Redis: %v (the case the probe exists for is one PING passes)", err)
	}
	if err := queue.ProbeRedis(ctx, c); !errors.Is(err, queue.ErrRedisRefusesWrites) || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("probe of a Redis out of memory = %v, want ErrRedisRefusesWrites (OOM)", err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	replica := redistest.StartReplica(t, primary)
	rc := redistest.Client(t, replica.URL())
	if err := queue.ProbeRedis(ctx, rc); !errors.Is(err, queue.ErrRedisRefusesWrites) || !strings.Contains(err.Error(), "READONLY") {
		t.Errorf("probe of a read-only replica = %v, want ErrRedisRefusesWrites (READONLY)", err)
	}
	if err := queue.ProbeRedis(ctx, c); err != nil {
		t.Errorf("probe of the primary with memory again: %v", err)
	}
}
