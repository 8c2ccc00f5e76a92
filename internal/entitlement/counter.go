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
}

// add adds n to the tenant's counter for the period starting at start and
// returns the new value with a function that takes the n back. When Redis
// is away it answers from rebuild (Postgres: exact, only slower) plus n,
// with nothing to take back.
func (c periodCounter) add(ctx context.Context, tenantID uuid.UUID, start time.Time, n int64, rebuild func() (int64, error)) (int64, func(), error) {
	key := c.key(tenantID, start)
	total, err := c.incrBy(ctx, key, n, rebuild)
	if err != nil {
		used, perr := rebuild()
		if perr != nil {
			return 0, nil, perr
		}
		return used + n, func() {}, nil
	}
	undo := func() { _ = c.Redis.DecrBy(context.WithoutCancel(ctx), key, n).Err() }
	return total, undo, nil
}

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
		return 0, err
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
