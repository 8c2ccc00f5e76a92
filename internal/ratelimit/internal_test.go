package ratelimit

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"aias/internal/testutil/redistest"
)

// fakeClock is a settable clock for the cooldown and the log throttle.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(t *testing.T, url string, opts Options) (*Limiter, *fakeClock) {
	t.Helper()
	l := New(redistest.Client(t, url), opts)
	clk := &fakeClock{t: time.Now()}
	l.now = clk.now
	return l, clk
}

const unreachable = "redis://127.0.0.1:1/0"

func TestLocalKeysBounded(t *testing.T) {
	t.Parallel()
	const max = 100
	l, _ := newTestLimiter(t, unreachable, Options{LocalKeys: max, Log: zerolog.Nop()})
	lim := PerSecond(1, 1)
	for i := range 10 * max {
		if d := l.Allow(context.Background(), fmt.Sprintf("ip-%d", i), lim); !d.Degraded {
			t.Fatalf("Allow = %+v, want Degraded", d)
		}
		if n := l.localKeys(); n > max {
			t.Fatalf("after %d keys the local map holds %d, want <= %d", i+1, n, max)
		}
	}
	if n := l.localKeys(); n != max {
		t.Fatalf("local map holds %d keys, want %d", n, max)
	}
}

func TestLocalEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, unreachable, Options{LocalKeys: 3, Log: zerolog.Nop()})
	lim := Limit{Rate: 1, Burst: 1, Period: time.Hour}
	ctx := context.Background()
	l.Allow(ctx, "hot", lim) // spends hot's only token
	for i := range 10 {
		if d := l.Allow(ctx, "hot", lim); d.Allowed {
			t.Fatalf("hot allowed again after %d cold keys: it was evicted while in use", i)
		}
		l.Allow(ctx, fmt.Sprintf("cold-%d", i), lim)
	}
	// Recency is now cold-9, hot, cold-8: two new keys evict cold-8, then hot.
	l.Allow(ctx, "newer", lim)
	if d := l.Allow(ctx, "hot", lim); d.Allowed {
		t.Fatalf("hot evicted before it was the least recently used")
	}
	// Recency: hot, newer, cold-9.
	l.Allow(ctx, "a", lim)
	l.Allow(ctx, "b", lim)
	l.Allow(ctx, "c", lim) // evicts cold-9, newer, then hot
	if d := l.Allow(ctx, "hot", lim); !d.Allowed {
		t.Fatalf("hot after eviction = %+v, want a fresh bucket", d)
	}
}

func TestLocalFollowsLimitChange(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, unreachable, Options{Log: zerolog.Nop()})
	ctx := context.Background()
	small := Limit{Rate: 1, Burst: 1, Period: time.Hour}
	l.Allow(ctx, "k", small)
	if d := l.Allow(ctx, "k", small); d.Allowed {
		t.Fatalf("second event under burst 1 = %+v, want denied", d)
	}
	big := Limit{Rate: 1, Burst: 5, Period: time.Hour}
	if d := l.Allow(ctx, "k", big); d.Limit != big {
		t.Fatalf("decision limit = %+v, want %+v", d.Limit, big)
	}
}

func TestCooldownSkipsRedisThenRetries(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	l, clk := newTestLimiter(t, srv.URL(), Options{Cooldown: time.Minute, Log: zerolog.Nop()})
	ctx := context.Background()
	srv.Stop()
	if d := l.Allow(ctx, "k", PerSecond(10, 10)); !d.Degraded {
		t.Fatalf("with Redis down = %+v, want Degraded", d)
	}
	srv.Start()
	if d := l.Allow(ctx, "k", PerSecond(10, 10)); !d.Degraded {
		t.Fatalf("within the cooldown = %+v, want Degraded (Redis not retried yet)", d)
	}
	clk.advance(time.Minute)
	if d := l.Allow(ctx, "k", PerSecond(10, 10)); d.Degraded {
		t.Fatalf("after the cooldown = %+v, want a Redis decision", d)
	}
}

func TestFallbackWarningIsThrottled(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, clk := newTestLimiter(t, unreachable, Options{
		Timeout: 5 * time.Millisecond, Cooldown: -1, LogEvery: 10 * time.Second, Log: zerolog.New(&buf),
	})
	ctx := context.Background()
	for range 50 {
		l.Allow(ctx, "k", PerSecond(1000, 1000))
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("50 failures logged %d warnings, want 1:\n%s", n, buf.String())
	}
	clk.advance(10 * time.Second)
	l.Allow(ctx, "k", PerSecond(1000, 1000))
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 2 || !strings.Contains(out, `"failures":50`) {
		t.Fatalf("after LogEvery: want a second warning counting 50 failures, got:\n%s", out)
	}
}

func TestCallerCancellationDoesNotTripCooldown(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, redistest.New(t), Options{Cooldown: time.Hour, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d := l.Allow(ctx, "k", PerSecond(1, 1)); !d.Degraded || !d.Allowed {
		t.Fatalf("with a cancelled context = %+v, want a local decision", d)
	}
	if d := l.Allow(context.Background(), "k", PerSecond(1, 1)); d.Degraded {
		t.Fatalf("next call = %+v, want Redis (a caller giving up is not a Redis failure)", d)
	}
}
