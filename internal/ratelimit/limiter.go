package ratelimit

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Defaults for the zero Options.
const (
	DefaultPrefix    = "aias:rl:"
	DefaultTimeout   = 50 * time.Millisecond
	DefaultLocalKeys = 10_000
	DefaultCooldown  = time.Second
	DefaultLogEvery  = 10 * time.Second
)

// Options configures a Limiter; zero fields take the defaults above.
type Options struct {
	Prefix    string        // Redis key prefix (redis_rate prepends "rate:")
	Timeout   time.Duration // bound on one Redis call before failing open
	LocalKeys int           // most keys the in-process fallback remembers (LRU)
	Cooldown  time.Duration // after a Redis failure, decide locally this long; < 0: retry Redis every call
	LogEvery  time.Duration // at most one fallback warning per interval
	Log       zerolog.Logger
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.LocalKeys <= 0 {
		o.LocalKeys = DefaultLocalKeys
	}
	if o.Cooldown == 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.LogEvery <= 0 {
		o.LogEvery = DefaultLogEvery
	}
	return o
}

// Limiter decides with GCRA in Redis, shared by every ingress replica, and
// fails open to per-process token buckets when Redis does not answer.
// It is safe for concurrent use.
type Limiter struct {
	gcra  *redis_rate.Limiter
	local *localStore
	opts  Options
	now   func() time.Time // replaced by tests

	redisDownUntil atomic.Int64 // unix nanos; skip Redis until then
	lastWarn       atomic.Int64 // unix nanos of the last fallback warning
	failures       atomic.Int64 // Redis failures since the last warning
}

// New returns a Limiter over rdb.
func New(rdb redis.UniversalClient, opts Options) *Limiter {
	opts = opts.withDefaults()
	return &Limiter{
		gcra:  redis_rate.NewLimiter(rdb),
		local: newLocalStore(opts.LocalKeys),
		opts:  opts,
		now:   time.Now,
	}
}

// Allow spends one event of key's budget under lim. It never fails: when
// Redis errors or times out it decides locally and marks the Decision
// Degraded. A Zero limit always allows without touching Redis.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) Decision {
	if lim.Zero() {
		return Decision{Allowed: true, Limit: lim}
	}
	lim = lim.normalized()
	if !l.redisSuspended() && ctx.Err() == nil {
		res, err := l.callRedis(ctx, key, lim)
		if err == nil {
			d := redisDecision(res, lim)
			if d.Allowed {
				// The local bucket counts what this process let through, so
				// that failing open mid-window goes on from there instead of
				// from a full bucket.
				l.local.allow(key, lim, l.now())
			}
			return d
		}
		if ctx.Err() == nil { // our timeout or Redis itself, not the caller giving up
			l.redisFailed(err)
		}
	}
	return l.local.allow(key, lim, l.now())
}

type redisReply struct {
	res *redis_rate.Result
	err error
}

// callRedis runs the GCRA script, bounded by Options.Timeout. The call runs
// in its own goroutine because go-redis applies a context's deadline to
// socket reads only when the client has ContextTimeoutEnabled; otherwise a
// Redis that accepts connections but never answers would hold the caller
// for the client's ReadTimeout (3s by default). The goroutine ends when
// go-redis gives up; the buffered channel lets it finish unobserved.
func (l *Limiter) callRedis(ctx context.Context, key string, lim Limit) (*redis_rate.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	ch := make(chan redisReply, 1)
	go func() {
		res, err := l.gcra.Allow(ctx, l.opts.Prefix+key, lim.gcra())
		ch <- redisReply{res, err}
	}()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func redisDecision(res *redis_rate.Result, lim Limit) Decision {
	d := Decision{
		Allowed:    res.Allowed > 0,
		Limit:      lim,
		Remaining:  max(res.Remaining, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, 0)
	}
	return d
}

func (l *Limiter) redisSuspended() bool {
	return l.now().UnixNano() < l.redisDownUntil.Load()
}

// redisFailed opens the cooldown and warns, at most once per LogEvery.
func (l *Limiter) redisFailed(err error) {
	now := l.now()
	if l.opts.Cooldown > 0 {
		l.redisDownUntil.Store(now.Add(l.opts.Cooldown).UnixNano())
	}
	l.failures.Add(1)
	last := l.lastWarn.Load()
	if last != 0 && now.UnixNano()-last < int64(l.opts.LogEvery) {
		return
	}
	if !l.lastWarn.CompareAndSwap(last, now.UnixNano()) {
		return // another goroutine is warning
	}
	l.opts.Log.Warn().Err(err).
		Int64("failures", l.failures.Swap(0)).
		Dur("cooldown", l.opts.Cooldown).
		Msg("ratelimit: Redis unavailable; failing open to the in-process limiter")
}

// localKeys is how many keys the in-process fallback holds (for tests).
func (l *Limiter) localKeys() int { return l.local.len() }
