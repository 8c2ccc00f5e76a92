package telemetry

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
)

// WatchPostgres exports the pool statistics of db as go_sql_* with
// db_name="aias": open, in use, idle, the maximum, and the waits for a free
// connection (the sign of a saturated pool).
func (m *Metrics) WatchPostgres(db *sql.DB) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, "aias"))
}

// WatchRedis exports the connection-pool statistics of a go-redis client as
// aias_redis_pool_*{pool=name}. maxConns is the pool's size (PoolSize).
func (m *Metrics) WatchRedis(name string, maxConns int, stats func() *redis.PoolStats) {
	m.Registry.MustRegister(&redisPool{stats: stats, maxConns: maxConns, labels: prometheus.Labels{"pool": name}})
}

type redisPool struct {
	stats    func() *redis.PoolStats
	maxConns int
	labels   prometheus.Labels
}

// redisPoolMetric is one figure of redis.PoolStats.
type redisPoolMetric struct {
	name, help string
	kind       prometheus.ValueType
	value      func(s *redis.PoolStats, size int) float64
}

var redisPoolMetrics = []redisPoolMetric{
	{"aias_redis_pool_max_connections", "Size of the Redis connection pool.", prometheus.GaugeValue,
		func(_ *redis.PoolStats, size int) float64 { return float64(size) }},
	{"aias_redis_pool_connections", "Connections in the Redis pool, idle or in use.", prometheus.GaugeValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.TotalConns) }},
	{"aias_redis_pool_idle_connections", "Idle connections in the Redis pool.", prometheus.GaugeValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.IdleConns) }},
	{"aias_redis_pool_hits_total", "Times a free connection was found in the Redis pool.", prometheus.CounterValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.Hits) }},
	{"aias_redis_pool_misses_total", "Times no free connection was in the Redis pool and one was dialled.", prometheus.CounterValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.Misses) }},
	{"aias_redis_pool_timeouts_total", "Times waiting for a Redis pool connection timed out.", prometheus.CounterValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.Timeouts) }},
	{"aias_redis_pool_waits_total", "Times a command waited for a Redis pool connection.", prometheus.CounterValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.WaitCount) }},
	{"aias_redis_pool_wait_duration_seconds_total", "Time spent waiting for Redis pool connections.", prometheus.CounterValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.WaitDurationNs) / 1e9 }},
	{"aias_redis_pool_stale_connections_total", "Stale connections removed from the Redis pool.", prometheus.CounterValue,
		func(s *redis.PoolStats, _ int) float64 { return float64(s.StaleConns) }},
}

func (p *redisPool) desc(m redisPoolMetric) *prometheus.Desc {
	return prometheus.NewDesc(m.name, m.help, nil, p.labels)
}

func (p *redisPool) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range redisPoolMetrics {
		ch <- p.desc(m)
	}
}

func (p *redisPool) Collect(ch chan<- prometheus.Metric) {
	s := p.stats()
	if s == nil {
		return
	}
	for _, m := range redisPoolMetrics {
		ch <- prometheus.MustNewConstMetric(p.desc(m), m.kind, m.value(s, p.maxConns))
	}
}

// WatchDependency exports aias_dependency_up{dependency=name}: 1 when ping
// succeeds within a second at scrape time, 0 otherwise. Every program
// reports Postgres and Redis, so "Redis is down" needs no exporter of its own.
func (m *Metrics) WatchDependency(name string, ping func(context.Context) error) {
	m.Registry.MustRegister(&dependency{ping: ping, desc: prometheus.NewDesc("aias_dependency_up",
		"Whether this process reaches a dependency (1) or not (0), checked at scrape time.", nil, prometheus.Labels{"dependency": name})})
}

type dependency struct {
	ping func(context.Context) error
	desc *prometheus.Desc
}

func (d *dependency) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d *dependency) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	up := 1.0
	if d.ping(ctx) != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(d.desc, prometheus.GaugeValue, up)
}
