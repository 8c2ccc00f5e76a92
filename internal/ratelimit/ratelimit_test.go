package ratelimit_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"aias/internal/errs"
	"aias/internal/ratelimit"
	"aias/internal/testutil/redistest"
)

// slow refills one event a minute, so nothing refills during a test.
var slow = ratelimit.Limit{Rate: 1, Burst: 3, Period: time.Minute}

// bound is a generous ceiling on one Allow when Redis is down.
const bound = 2 * time.Second

func client(t testing.TB, url string) *redis.Client { return redistest.Client(t, url) }

func newLimiter(t testing.TB, url string, opts ratelimit.Options) *ratelimit.Limiter {
	t.Helper()
	opts.Log = zerolog.Nop()
	return ratelimit.New(client(t, url), opts)
}

// spend calls Allow n times and returns the decisions.
func spend(t *testing.T, l *ratelimit.Limiter, key string, lim ratelimit.Limit, n int) []ratelimit.Decision {
	t.Helper()
	ds := make([]ratelimit.Decision, n)
	for i := range ds {
		ds[i] = l.Allow(context.Background(), key, lim)
	}
	return ds
}

func TestBurstThenDenied(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.New(t), ratelimit.Options{})
	ds := spend(t, l, "tenant-a", slow, slow.Burst+1)
	for i, d := range ds[:slow.Burst] {
		if !d.Allowed || d.Degraded || d.Remaining != slow.Burst-1-i {
			t.Fatalf("event %d = %+v, want allowed with %d remaining", i+1, d, slow.Burst-1-i)
		}
	}
	denied := ds[slow.Burst]
	if denied.Allowed || denied.Degraded || denied.Remaining != 0 || denied.RetryAfter <= 0 {
		t.Fatalf("event %d = %+v, want denied, Remaining 0, RetryAfter > 0", slow.Burst+1, denied)
	}
	if denied.ResetAfter < denied.RetryAfter {
		t.Errorf("ResetAfter %v < RetryAfter %v", denied.ResetAfter, denied.RetryAfter)
	}
	if !errs.Is(denied.Err(), errs.RateLimited) || ds[0].Err() != nil {
		t.Errorf("Err() = %v / %v, want nil then rate_limited", ds[0].Err(), denied.Err())
	}
}

func TestLimitersShareOneBudget(t *testing.T) {
	t.Parallel()
	url := redistest.New(t)
	a := newLimiter(t, url, ratelimit.Options{})
	b := newLimiter(t, url, ratelimit.Options{})
	allowed := 0
	for i := range 2 * slow.Burst {
		l := a
		if i%2 == 1 {
			l = b
		}
		if d := l.Allow(context.Background(), "shared", slow); d.Allowed {
			allowed++
		}
	}
	if allowed != slow.Burst {
		t.Fatalf("two replicas allowed %d events, want the one shared burst %d", allowed, slow.Burst)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.New(t), ratelimit.Options{})
	spend(t, l, "noisy", slow, slow.Burst+1)
	if d := l.Allow(context.Background(), "quiet", slow); !d.Allowed || d.Remaining != slow.Burst-1 {
		t.Fatalf("quiet key after noisy one is exhausted = %+v, want a full budget", d)
	}
}

func TestZeroLimitAlwaysAllows(t *testing.T) {
	t.Parallel()
	// Redis is unreachable: a Zero limit must not even ask it.
	l := newLimiter(t, "redis://127.0.0.1:1/0", ratelimit.Options{})
	for _, d := range spend(t, l, "k", ratelimit.Limit{}, 100) {
		if !d.Allowed || d.Degraded {
			t.Fatalf("zero limit = %+v, want allowed, not degraded", d)
		}
	}
	if h := (ratelimit.Decision{Allowed: true}).Headers(); len(h) != 0 {
		t.Errorf("unlimited headers = %v, want none", h)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	lim := ratelimit.PerSecond(10, 20)
	tests := []struct {
		name string
		d    ratelimit.Decision
		want map[string]string
	}{
		{"allowed, reset rounded up",
			ratelimit.Decision{Allowed: true, Limit: lim, Remaining: 7, ResetAfter: 1300 * time.Millisecond},
			map[string]string{"RateLimit-Limit": "20", "RateLimit-Remaining": "7", "RateLimit-Reset": "2"}},
		{"allowed, full bucket",
			ratelimit.Decision{Allowed: true, Limit: lim, Remaining: 20},
			map[string]string{"RateLimit-Limit": "20", "RateLimit-Remaining": "20", "RateLimit-Reset": "0"}},
		{"denied, sub-second retry is 1",
			ratelimit.Decision{Limit: lim, RetryAfter: 100 * time.Millisecond, ResetAfter: 2 * time.Second},
			map[string]string{"RateLimit-Limit": "20", "RateLimit-Remaining": "0", "RateLimit-Reset": "2", "Retry-After": "1"}},
		{"denied, zero retry is still 1",
			ratelimit.Decision{Limit: lim},
			map[string]string{"RateLimit-Limit": "20", "RateLimit-Remaining": "0", "RateLimit-Reset": "0", "Retry-After": "1"}},
		{"denied, retry rounded up",
			ratelimit.Decision{Limit: lim, RetryAfter: 2001 * time.Millisecond, ResetAfter: 59 * time.Second},
			map[string]string{"RateLimit-Limit": "20", "RateLimit-Remaining": "0", "RateLimit-Reset": "59", "Retry-After": "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.d.Headers()
			if len(got) != len(tt.want) {
				t.Fatalf("Headers() = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestHeadersFromRedis(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, redistest.New(t), ratelimit.Options{})
	ds := spend(t, l, "h", slow, slow.Burst+1)
	h := ds[slow.Burst].Headers()
	retry, err := strconv.Atoi(h["Retry-After"])
	if err != nil || retry < 1 || retry > 60 {
		t.Fatalf("Retry-After = %q, want whole seconds in [1, 60]", h["Retry-After"])
	}
	reset, err := strconv.Atoi(h["RateLimit-Reset"])
	if err != nil || reset < retry {
		t.Fatalf("RateLimit-Reset = %q, want whole seconds >= Retry-After %d", h["RateLimit-Reset"], retry)
	}
	if h["RateLimit-Limit"] != "3" || h["RateLimit-Remaining"] != "0" {
		t.Fatalf("headers = %v, want limit 3, remaining 0", h)
	}
	if _, ok := ds[0].Headers()["Retry-After"]; ok {
		t.Errorf("allowed decision has Retry-After: %v", ds[0].Headers())
	}
}

// allowWithin calls Allow and fails the test if it takes longer than bound.
func allowWithin(t *testing.T, l *ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	start := time.Now()
	d := l.Allow(context.Background(), key, lim)
	if took := time.Since(start); took > bound {
		t.Fatalf("Allow with Redis down took %v, want < %v", took, bound)
	}
	return d
}

// assertLocalBurst checks that the fallback still enforces the burst.
func assertLocalBurst(t *testing.T, l *ratelimit.Limiter, key string) {
	t.Helper()
	for i := range slow.Burst + 1 {
		d := allowWithin(t, l, key, slow)
		if !d.Degraded {
			t.Fatalf("event %d = %+v, want Degraded", i+1, d)
		}
		if wantAllowed := i < slow.Burst; d.Allowed != wantAllowed {
			t.Fatalf("event %d allowed = %v, want %v (%+v)", i+1, d.Allowed, wantAllowed, d)
		}
	}
}

func TestRedisDownFailsOpenThenRecovers(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	// Cooldown < 0: try Redis on every call, so recovery is visible at once.
	l := newLimiter(t, srv.URL(), ratelimit.Options{Cooldown: -1})
	if d := l.Allow(context.Background(), "warm", slow); !d.Allowed || d.Degraded {
		t.Fatalf("with Redis up = %+v, want allowed, not degraded", d)
	}
	srv.Stop()
	assertLocalBurst(t, l, "k")
	srv.Start()
	d := l.Allow(context.Background(), "k", slow)
	if d.Degraded || !d.Allowed || d.Remaining != slow.Burst-1 {
		t.Fatalf("after Redis restarts = %+v, want a non-degraded decision from the (empty) Redis", d)
	}
}

// A Redis that stops answering mid-window leaves the fallback with what
// this process already let through, not a fresh budget.
func TestFailingOpenMidWindowGoesOnFromWhatThisProcessSpent(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	l := newLimiter(t, srv.URL(), ratelimit.Options{Cooldown: -1})
	for i, d := range spend(t, l, "k", slow, slow.Burst-1) {
		if !d.Allowed || d.Degraded {
			t.Fatalf("event %d with Redis up = %+v, want allowed, not degraded", i+1, d)
		}
	}
	srv.Stop()
	if d := allowWithin(t, l, "k", slow); !d.Allowed || !d.Degraded {
		t.Fatalf("last event of the burst with Redis down = %+v, want allowed, degraded", d)
	}
	if d := allowWithin(t, l, "k", slow); d.Allowed || !d.Degraded {
		t.Fatalf("event past the burst with Redis down = %+v, want denied, degraded", d)
	}
}

func TestRedisUnreachableFailsOpen(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, "redis://127.0.0.1:1/0", ratelimit.Options{})
	assertLocalBurst(t, l, "k")
}

// TestRedisUnresponsiveFailsOpen points the limiter at a socket that accepts
// connections and never answers, with a client whose own read timeout is far
// longer than the bound: only the limiter's Timeout can release the caller.
func TestRedisUnresponsiveFailsOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go blackHole(ln)
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: 30 * time.Second, DialTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	l := ratelimit.New(c, ratelimit.Options{Log: zerolog.Nop()})
	assertLocalBurst(t, l, "k")
}

// blackHole accepts connections and holds them open without replying.
func blackHole(ln net.Listener) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
	}
}
