package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"aias/internal/redisnodes"

	"github.com/redis/go-redis/v9"
)

// RedisSettings are the server settings AIAS cares about, as CONFIG GET
// reports them.
type RedisSettings struct {
	MaxmemoryPolicy string // must be noeviction: an evicted asynq key corrupts the queue
	AppendOnly      string // "yes": the queue survives a restart
	Save            string // RDB snapshot schedule; "" means none
}

// Persistent reports whether Redis keeps its data across a restart.
func (s RedisSettings) Persistent() bool { return s.AppendOnly == "yes" || s.Save != "" }

// errNotReported: CONFIG GET answered without the setting (a server that
// only resembles Redis).
var errNotReported = errors.New("setting not reported")

// ErrRedisEvicts is the production refusal of a Redis that may evict keys.
var ErrRedisEvicts = errors.New("redis may evict keys")

// CheckRedis reads Redis's settings at start. A maxmemory-policy other than
// noeviction is an error in production (a Redis that evicts asynq's keys
// loses or corrupts queue state) and a warning otherwise; persistence off is
// a warning (Postgres is the record, so it costs a delay, not data). A Redis
// that refuses CONFIG (managed services rename or forbid it) or that cannot
// be reached is a warning: the check cannot be made, and the programs must
// still start without Redis.
func CheckRedis(ctx context.Context, rdb redis.UniversalClient, production bool) (warnings []string, err error) {
	nodes, err := readEveryNode(ctx, rdb)
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) || errors.Is(err, errNotReported) {
			return []string{fmt.Sprintf("cannot read Redis settings (%v): make sure maxmemory-policy is noeviction and persistence is on", err)}, nil
		}
		return []string{fmt.Sprintf("Redis settings not checked, Redis is unreachable (%v)", err)}, nil
	}
	for _, n := range nodes {
		if n.settings.MaxmemoryPolicy != "noeviction" {
			msg := fmt.Sprintf("%smaxmemory-policy is %q, must be noeviction: Redis may evict queue keys", n.where, n.settings.MaxmemoryPolicy)
			if production {
				return warnings, fmt.Errorf("%w: %s (set it with 'CONFIG SET maxmemory-policy noeviction' or in redis.conf; AIAS_ENV=dev only warns)", ErrRedisEvicts, msg)
			}
			warnings = append(warnings, msg)
		}
		if !n.settings.Persistent() {
			warnings = append(warnings, n.where+"Redis persistence is off (appendonly no, save \"\"): a Redis restart empties the queue and runs wait for the scheduler's sweep")
		}
	}
	return warnings, nil
}

// PingRedis answers whether Redis is reachable: its server, or every primary
// of a Redis Cluster (a PING that one node answers says nothing of the
// slots the others hold).
func PingRedis(ctx context.Context, rdb redis.UniversalClient) error {
	return redisnodes.Each(ctx, rdb, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		if err := node.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("%s%w", where(addr), err)
		}
		return nil
	})
}

// ProbeKey is the key readiness writes to prove Redis takes writes.
const ProbeKey = "aias:probe:ready"

// ErrRedisRefusesWrites is a Redis that answers but will not store: out of
// memory under noeviction (OOM), or a read-only replica after a failover
// (READONLY). PING still works; the queue cannot take work.
var ErrRedisRefusesWrites = errors.New("redis refuses writes")

// ProbeRedis answers whether Redis can take work: every node answers PING
// (PingRedis), and a write with a short time to live (SET ProbeKey PX)
// succeeds — what enqueueing needs, which PING does not prove. On a Redis
// Cluster the write reaches the primary of ProbeKey's slot.
func ProbeRedis(ctx context.Context, rdb redis.UniversalClient) error {
	if err := PingRedis(ctx, rdb); err != nil {
		return err
	}
	err := rdb.Set(ctx, ProbeKey, "1", 10*time.Second).Err()
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return fmt.Errorf("%w: %w", ErrRedisRefusesWrites, err)
	}
	return err
}

// nodeSettings are one node's settings; where names the node in messages
// ("" for a single server).
type nodeSettings struct {
	where    string
	settings RedisSettings
}

// readEveryNode reads the settings of rdb's server or, on a Redis Cluster,
// of every primary: each node has its own, and one that evicts is enough to
// lose queue keys.
func readEveryNode(ctx context.Context, rdb redis.UniversalClient) ([]nodeSettings, error) {
	var (
		mu    sync.Mutex
		nodes []nodeSettings
	)
	err := redisnodes.Each(ctx, rdb, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		s, err := ReadRedisSettings(ctx, node)
		if err != nil {
			return fmt.Errorf("%s%w", where(addr), err)
		}
		mu.Lock()
		nodes = append(nodes, nodeSettings{where: where(addr), settings: s})
		mu.Unlock()
		return nil
	})
	slices.SortFunc(nodes, func(a, b nodeSettings) int { return strings.Compare(a.where, b.where) })
	return nodes, err
}

// where prefixes a message with a cluster node's address ("" for a single
// server).
func where(addr string) string {
	if addr == "" {
		return ""
	}
	return "node " + addr + ": "
}

// ReadRedisSettings asks Redis for the settings of RedisSettings.
func ReadRedisSettings(ctx context.Context, rdb redis.UniversalClient) (RedisSettings, error) {
	var s RedisSettings
	for name, dst := range map[string]*string{"maxmemory-policy": &s.MaxmemoryPolicy, "appendonly": &s.AppendOnly, "save": &s.Save} {
		m, err := rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			return s, fmt.Errorf("CONFIG GET %s: %w", name, err)
		}
		v, ok := m[name]
		if !ok {
			return s, fmt.Errorf("CONFIG GET %s: %w", name, errNotReported)
		}
		*dst = v
	}
	return s, nil
}
