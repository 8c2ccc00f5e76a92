package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"aias/internal/config"
	"aias/internal/postgres"
	"aias/internal/queue"
)

// preflight runs once as a program starts serving: it checks the database
// role (stopping a production program that row-level security would not
// confine) and Redis's settings (stopping a production program whose Redis
// may evict queue keys), and registers the collectors that depend on the
// role. In dev both checks only warn.
func (a *App) preflight(ctx context.Context, role config.Role) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.checkDatabaseRole(cctx); err != nil {
		return err
	}
	warnings, err := queue.CheckRedis(cctx, a.Redis, !a.Cfg.Dev())
	for _, w := range warnings {
		a.Log.Warn().Str("check", "redis").Msg(w)
	}
	if err != nil {
		return fmt.Errorf("redis settings: %w", err)
	}
	a.watchPools()
	if role&config.RoleScheduler != 0 {
		a.watchQueues()
	}
	return nil
}

// checkDatabaseRole refuses, in production, a DATABASE_URL role that
// row-level security does not hold: a superuser, a BYPASSRLS role or an
// owner of the schema's objects would serve one tenant's key every tenant's
// rows wherever a query relied on it alone.
func (a *App) checkDatabaseRole(ctx context.Context) error {
	problems, err := a.DB.RoleProblems(ctx)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		return nil
	}
	if !a.Cfg.Dev() {
		return postgres.RoleError(problems)
	}
	a.Log.Warn().Str("check", "database role").
		Msg(strings.Join(problems, ", ") + ": row-level security does not confine it (refused in production)")
	return nil
}

// watchPools exports this process's Postgres pool, its own Redis pool (rate
// limits, concurrency slots, quotas, readiness; asynq keeps pools of its
// own) and whether it reaches Postgres and Redis.
func (a *App) watchPools() {
	a.Metrics.WatchPostgres(a.DB.DB.DB)
	size := 0
	switch c := a.Redis.(type) {
	case *redis.Client:
		size = c.Options().PoolSize
	case *redis.ClusterClient:
		size = c.Options().PoolSize // per node
	}
	a.Metrics.WatchRedis("app", size, a.Redis.PoolStats)
	// Up means able to work: Postgres gives a pool connection within the
	// scrape's second, Redis takes a write (not just PING: out of memory
	// or read-only, it answers PING and refuses every enqueue).
	a.Metrics.WatchDependency("postgres", a.DB.Ping)
	a.Metrics.WatchDependency("redis", func(ctx context.Context) error { return queue.ProbeRedis(ctx, a.Redis) })
}

// watchQueues exports asynq's per-queue figures (asynq_queue_size,
// asynq_queue_latency_seconds, asynq_tasks_enqueued_total{state} with the
// archived count, ...). Only the scheduler does: the figures describe Redis,
// not the process, and workers run in many replicas.
func (a *App) watchQueues() {
	a.inspector = asynq.NewInspector(a.RedisOpt)
	a.Metrics.Registry.MustRegister(undescribed{asynqmetrics.NewQueueMetricsCollector(a.inspector)})
}

// undescribed registers a collector without describing it. asynq's
// collector describes itself by collecting, which would reach Redis at
// start; Redis is not required to be up then.
type undescribed struct{ prometheus.Collector }

func (undescribed) Describe(chan<- *prometheus.Desc) {}
