package entitlement

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"aias/internal/redisnodes"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// periodCounter is a per-tenant, per-period counter in Redis whose record is
// in Postgres: the run quota (Quota) and artifact bytes (ArtifactBytes). A
// missing counter (first use in a period, a flushed or replaced Redis) is
// rebuilt from the record before it counts.
type periodCounter struct {
	Redis  redis.UniversalClient
	Prefix string
	// local counts in process while Redis is away (localCounts); nil: each
	// addition reads the record instead.
	local *localCounts
}

// add adds n to the tenant's counter for the period starting at start and
// returns the new value with a function that takes the n back. When Redis
// is away it answers from the record (rebuild, Postgres) plus n: read once
// and then counted in process if the counter has local counts, read at
// every addition otherwise.
func (c periodCounter) add(ctx context.Context, tenantID uuid.UUID, start time.Time, n int64, rebuild func() (int64, error)) (int64, func(), error) {
	key := c.key(tenantID, start)
	if c.local == nil || !c.local.suspended() {
		total, undo, err := c.redisAdd(ctx, key, n, rebuild)
		var rerr rebuildError
		if err == nil || errors.As(err, &rerr) {
			return total, undo, err
		}
		if c.local != nil && ctx.Err() == nil { // Redis failed, not the caller giving up
			c.local.suspend()
		}
	}
	if c.local != nil {
		return c.local.add(key, n, rebuild)
	}
	used, err := rebuild()
	if err != nil {
		return 0, nil, err
	}
	return used + n, func() {}, nil
}

// redisAdd adds n to the counter in Redis. A counter this process counted
// locally meanwhile (Redis was away) missed those additions: it is dropped
// first, so it is rebuilt from the record.
func (c periodCounter) redisAdd(ctx context.Context, key string, n int64, rebuild func() (int64, error)) (int64, func(), error) {
	if c.local != nil && c.local.has(key) {
		if err := c.Redis.Del(ctx, key).Err(); err != nil {
			return 0, nil, err
		}
		c.local.forget(key)
	}
	total, err := c.incrBy(ctx, key, n, rebuild)
	if err != nil {
		return 0, nil, err
	}
	return total, func() { _ = c.Redis.DecrBy(context.WithoutCancel(ctx), key, n).Err() }, nil
}

// rebuildError is a failure to read the record while rebuilding a counter
// (Postgres), not Redis's.
type rebuildError struct{ error }

func (e rebuildError) Unwrap() error { return e.error }

// incrIfExists adds to a counter that exists and answers false (nil) for
// one that does not, which the caller rebuilds first: the common case in
// one round trip.
//
//	KEYS[1]  the tenant's counter of the period
//	ARGV[1]  what to add (a run, or an artifact step's bytes)
var incrIfExists = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false`)

func (c periodCounter) incrBy(ctx context.Context, key string, n int64, rebuild func() (int64, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	total, err := incrIfExists.Run(ctx, c.Redis, []string{key}, n).Int64()
	if err == nil {
		return total, nil
	}
	if !errors.Is(err, redis.Nil) {
		return 0, err
	}
	used, err := rebuild()
	if err != nil {
		return 0, rebuildError{err}
	}
	// SET NX: of several rebuilding at once, one value wins; all then add.
	if err := c.Redis.SetNX(ctx, key, used, 40*24*time.Hour).Err(); err != nil {
		return 0, err
	}
	return c.Redis.IncrBy(ctx, key, n).Result()
}

// reconcile compares every tenant counter of the current period with the
// record (counted reads one tenant's, under its own tenant transaction) and
// drops the counters that drifted, so the next use rebuilds them: one
// behind the record (an addition lost), or more than slack ahead of it (an
// undo lost to a crash between the addition and the commit; additions in
// flight make a counter slightly ahead normal). It returns how many
// counters were dropped.
func (c periodCounter) reconcile(ctx context.Context, now time.Time, counted func(tenantID uuid.UUID, start time.Time) (int64, error), slack int64) (int, error) {
	start := PeriodStart(now)
	suffix := ":" + period(start)
	dropped := 0
	keys, err := scanKeys(ctx, c.Redis, c.Prefix+"*"+suffix)
	if err != nil {
		return 0, err
	}
	for _, key := range keys {
		id, err := uuid.Parse(strings.TrimSuffix(strings.TrimPrefix(key, c.Prefix), suffix))
		if err != nil {
			continue
		}
		have, err := c.Redis.Get(ctx, key).Int64()
		if err != nil {
			continue // gone meanwhile: rebuilt on next use anyway
		}
		want, err := counted(id, start)
		if err != nil {
			return dropped, err
		}
		if have < want || have > want+slack {
			if err := c.Redis.Del(ctx, key).Err(); err != nil {
				return dropped, err
			}
			dropped++
		}
	}
	return dropped, nil
}

// scanKeys lists the keys matching a pattern. A Redis Cluster spreads keys
// over its primaries, and SCAN walks one node: every primary is walked.
func scanKeys(ctx context.Context, rdb redis.UniversalClient, match string) ([]string, error) {
	var (
		mu  sync.Mutex
		all []string
	)
	err := redisnodes.Each(ctx, rdb, func(ctx context.Context, node redis.UniversalClient, _ string) error {
		iter := node.Scan(ctx, 0, match, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			all = append(all, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	})
	return all, err
}

func (c periodCounter) key(tenantID uuid.UUID, start time.Time) string {
	return c.Prefix + tenantID.String() + ":" + period(start)
}

// period names a period by its year and month: 202611.
func period(start time.Time) string { return strconv.Itoa(start.Year()*100 + int(start.Month())) }

// While Redis is away, a counter counts in process (localCounts): each key
// is read from the record once, and additions are counted on top of that,
// instead of a count over the tenant's month in Postgres at every addition
// (every capped-plan delivery). Redis is tried again after redisCooldown;
// the first addition through Redis to a key counted locally drops the
// Redis counter, which missed those additions, so it is rebuilt from the
// record. Each process counts only its own additions: a local count is
// read from the record again every localReseed to take in the other
// replicas', so a tenant can pass its limit by what the other replicas
// admitted within that time.
const (
	redisCooldown = 5 * time.Second
	localReseed   = 10 * time.Second
)

// localCounts are a counter's in-process counts, by key.
type localCounts struct {
	mu        sync.Mutex
	downUntil time.Time
	counts    map[string]*localCount
	now       func() time.Time // nil: time.Now (tests replace it)
}

// localCount is one key's count: the record as read at seeded, plus this
// process's additions since. gen tells an undo whether the count it would
// take back from is still the one it added to.
type localCount struct {
	mu     sync.Mutex
	seeded time.Time
	gen    int
	n      int64
}

func (l *localCounts) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// suspended reports whether Redis failed less than redisCooldown ago.
func (l *localCounts) suspended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clock().Before(l.downUntil)
}

// suspend counts in process for redisCooldown.
func (l *localCounts) suspend() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.downUntil = l.clock().Add(redisCooldown)
}

func (l *localCounts) has(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.counts[key]
	return ok
}

func (l *localCounts) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
}

func (l *localCounts) entry(key string) *localCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]*localCount{}
	}
	e, ok := l.counts[key]
	if !ok {
		e = &localCount{}
		l.counts[key] = e
	}
	return e
}

// add adds n to key's local count, reading the record first when the
// count has none or an old one. Additions to one key wait for one read.
func (l *localCounts) add(key string, n int64, rebuild func() (int64, error)) (int64, func(), error) {
	e := l.entry(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := l.clock()
	if e.seeded.IsZero() || now.Sub(e.seeded) >= localReseed {
		used, err := rebuild()
		if err != nil {
			return 0, nil, err
		}
		e.n, e.seeded, e.gen = used, now, e.gen+1
	}
	e.n += n
	gen := e.gen
	undo := func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.gen == gen { // a count read since does not hold the addition
			e.n -= n
		}
	}
	return e.n, undo, nil
}
