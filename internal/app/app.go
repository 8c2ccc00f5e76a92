// Package app is the composition root: it opens the pools every program
// shares and builds the services each role runs. Close releases everything
// in reverse order of opening.
package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/account"
	"aias/internal/billing"
	"aias/internal/config"
	"aias/internal/entitlement"
	"aias/internal/ingress"
	"aias/internal/keyring"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/ratelimit"
	"aias/internal/run"
	"aias/internal/safehttp"
	"aias/internal/scheduler"
	"aias/internal/step"
	"aias/internal/telemetry"
	"aias/internal/worker"
)

// App holds the shared resources of one process.
type App struct {
	Cfg      config.Config
	Log      zerolog.Logger
	DB       *postgres.DB
	Redis    redis.UniversalClient
	RedisOpt asynq.RedisConnOpt
	Queue    *queue.Client
	Metrics  *telemetry.Metrics
	Keys     *keyring.Keyring // nil for roles that hold no secrets
	Plans    *plan.Catalog
	// Admitter is what tenants' plans allow and the one admission path of
	// new runs: the ingress's intake, manual runs and replays, the cron
	// ticker's runs, the held release and the worker's artifact bytes.
	Admitter *entitlement.Admitter
	// admitRedis is the Admitter's own Redis client, whose calls end at
	// their caller's deadline (honourDeadlines).
	admitRedis redis.UniversalClient

	// HTTPClient makes the http steps' requests (tests may replace it).
	HTTPClient *http.Client
	// Tracer starts the ingress's and the worker's spans; nil: tracing off.
	// Serve builds it from AIAS_OTEL_EXPORTER unless a test set one (tracing.go).
	Tracer trace.TracerProvider
	// ExtraRoutes are routes a tool adds to the ingress's public port
	// (ingress.Options.Extra): 'aias bench ingress' adds the bench's floor.
	// The production programs add none.
	ExtraRoutes []ingress.ExtraRoute

	inspector *asynq.Inspector // the scheduler's queue metrics (observe.go)
}

// New connects to Postgres and prepares the Redis clients. Redis is not
// required to be up: the intake keeps accepting (runs are swept later).
// cfg comes from config.Load, whose Parsed values (the plan catalogue, the
// keys, the egress policy) are used as they are, not parsed again.
func New(ctx context.Context, cfg config.Config, log zerolog.Logger) (*App, error) {
	if cfg.Parsed.Plans == nil {
		return nil, errors.New("configuration not parsed: build it with config.Load")
	}
	opt, err := queue.RedisOpt(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		_ = db.Close()
		return nil, fmt.Errorf("redis client of unexpected type")
	}
	admitRedis, _ := opt.MakeRedisClient().(redis.UniversalClient)
	honourDeadlines(admitRedis)
	metrics := telemetry.New()
	q := queue.NewClient(opt)
	q.Metrics = metrics
	return &App{
		Cfg: cfg, Log: log, DB: db, Redis: rdb, RedisOpt: opt,
		Queue:      q,
		Keys:       cfg.Parsed.Keys,
		Plans:      cfg.Parsed.Plans,
		Admitter:   entitlement.NewAdmitter(cfg.Parsed.Plans, admitRedis),
		admitRedis: admitRedis,
		Metrics:    metrics,
		HTTPClient: safehttp.NewClient(cfg.Parsed.Egress),
	}, nil
}

// Close releases the pools in reverse order of opening.
func (a *App) Close() {
	if a.inspector != nil {
		_ = a.inspector.Close()
	}
	_ = a.Queue.Close()
	_ = a.admitRedis.Close()
	_ = a.Redis.Close()
	_ = a.DB.Close()
}

// Ingress builds the HTTP server.
func (a *App) Ingress() *ingress.Server {
	log := a.Log.With().Str("service", "ingress").Logger()
	c := a.Cfg
	return ingress.New(ingress.Deps{
		DB: a.DB, Redis: a.Redis, Queue: a.Queue, Revive: a.Queue, Keys: a.Keys, Admitter: a.Admitter, Metrics: a.Metrics, Log: log,
		Tracer:     a.Tracer,
		Billing:    a.Billing(),
		Accounts:   a.Accounts(log),
		Limiter:    ratelimit.New(a.Redis, ratelimit.Options{Log: log}),
		HTTPClient: telemetry.TraceClient(a.HTTPClient, a.Tracer),
	}, ingress.Options{
		PublicURL: c.PublicURL, MaxBodyBytes: c.MaxBodyBytes, MaxBodyLimit: c.MaxBodyLimit,
		SignupEnabled: c.SignupEnabled, ShutdownTimeout: c.ShutdownTimeout,
		SecureCookies:     !c.Dev(),
		SignupLimit:       c.Parsed.SignupLimit,
		TestLimit:         c.Parsed.TestLimit,
		ReadHeaderTimeout: c.ReadHeaderTimeout, RequestTimeout: c.RequestTimeout,
		BodyTimeout: c.BodyTimeout, DBConnWait: c.DBConnWait, EnqueueBudget: c.EnqueueBudget,
		GroupCommit: c.GroupCommit, GroupCommitFlushers: c.GroupCommitFlushers,
		TrustedProxies:   c.Parsed.TrustedProxies,
		IPLimit:          c.Parsed.IPLimit,
		EndpointLimit:    c.Parsed.EndpointLimit,
		Extra:            a.ExtraRoutes,
		EndpointCacheTTL: c.EndpointCacheTTL,
	})
}

// Accounts is the people of the console: sign-ins, invitations, resets
// and members (docs/accounts.md), with sign-in attempts limited through
// Redis (waiting up to account.RedisTimeout before deciding in-process).
func (a *App) Accounts(log zerolog.Logger) *account.Service {
	rl := ratelimit.New(a.Redis, ratelimit.Options{Log: log, Timeout: account.RedisTimeout})
	opts := account.Options{
		PublicURL: a.Cfg.PublicURL,
		Limiter:   account.NewLimiter(rl, ratelimit.Limit{}, ratelimit.Limit{}),
		Log:       log,
	}
	if a.Cfg.SMTPHost != "" {
		// Validated by config.Load: AIAS_SMTP_* make a relay.
		if m, err := account.NewSMTP(a.Cfg.SMTP()); err == nil {
			opts.Mailer = m
		}
	}
	return account.New(a.DB, opts)
}

// Ops is the handler of the ops listener (AIAS_METRICS_ADDR). The process
// that serves the ingress also mounts the queue dashboard there.
func (a *App) Ops(role config.Role) http.Handler {
	o := ingress.OpsOptions{}
	if role&config.RoleIngress != 0 {
		o = ingress.OpsOptions{OperatorToken: a.Cfg.OperatorToken, Dashboard: a.dashboard()}
	}
	return ingress.Ops(ingress.OpsDeps{DB: a.DB, Redis: a.Redis, Metrics: a.Metrics, Log: a.Log.With().Str("service", "ops").Logger()}, o)
}

// dashboard is asynqmon, read-only unless the operator enables actions.
func (a *App) dashboard() http.Handler {
	if a.Cfg.OperatorToken == "" {
		return nil
	}
	return asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: a.RedisOpt, ReadOnly: !a.Cfg.AdminActions})
}

// Billing is the Stripe side of plans.
func (a *App) Billing() *billing.Service {
	c := a.Cfg
	return &billing.Service{DB: a.DB, Plans: a.Plans, Cfg: billing.Config{
		WebhookSecret: c.StripeWebhookSecret, APIKey: c.StripeAPIKey, APIBase: c.StripeAPIBase,
		SuccessURL: c.StripeSuccessURL, CancelURL: c.StripeCancelURL, PortalReturnURL: c.StripePortalReturn,
		Grace: c.BillingGrace,
	}}
}

// Backoff is the retry schedule of runs.
func (a *App) Backoff() run.Backoff { return run.Backoff{Base: a.Cfg.RetryBase, Max: a.Cfg.RetryMax} }

// Worker builds the run executor and the asynq server around it.
func (a *App) Worker() *worker.Worker {
	exec := &run.Executor{DB: a.DB, Deps: step.Deps{HTTPClient: telemetry.TraceClient(a.HTTPClient, a.Tracer)}, Backoff: a.Backoff(), Metrics: a.Metrics, Keys: a.Keys,
		Plans: &a.Admitter.Plans, Slots: &entitlement.Slots{Redis: a.Redis}, Nudger: a.Queue, Notices: a.Queue,
		ArtifactBytes: a.Admitter.Artifacts,
		Heartbeat:     a.Cfg.RunHeartbeat, ReclaimAfter: a.Cfg.ReclaimAfter}
	return worker.New(worker.Options{
		Redis: a.RedisOpt, Concurrency: a.Cfg.WorkerConcurrency, ShutdownTimeout: a.Cfg.WorkerShutdownTimeout,
		Backoff: a.Backoff(), Log: a.Log.With().Str("service", "worker").Logger(), Tracer: a.Tracer,
	}, exec)
}

// Scheduler builds the sweep.
func (a *App) Scheduler() *scheduler.Scheduler {
	return scheduler.New(a.DB, a.Queue, scheduler.Options{
		Interval: a.Cfg.SweepInterval, QueuedGrace: a.Cfg.SweepQueuedGrace, RunningStale: a.Cfg.SweepRunningStale,
		ReclaimAfter: a.Cfg.ReclaimAfter, ReclaimInterval: a.Cfg.ReclaimInterval,
		Log: a.Log.With().Str("service", "scheduler").Logger(), Metrics: a.Metrics,
		Admitter: a.Admitter,
		Billing:  a.Billing(),
	})
}

// Cron builds the cron ticker: every scheduler replica runs one, the holder
// of the lease ticks.
func (a *App) Cron() *scheduler.Cron {
	return scheduler.NewCron(a.DB, a.Queue, scheduler.CronOptions{
		LeaseTTL: a.Cfg.SchedulerLeaseTTL, MissedAfter: a.Cfg.ScheduleMissedAfter,
		Log: a.Log.With().Str("service", "scheduler").Logger(), Metrics: a.Metrics,
		Admitter: a.Admitter,
	})
}

// honourDeadlines makes the client's socket reads and writes end at the
// caller's deadline rather than at the connection's read and write timeouts
// (seconds): the intake's quota count, which gives Redis a fifth of a
// second before counting in Postgres, then costs a frozen Redis that fifth
// and not the read timeout. Only the Admitter's client: a command cut at
// its deadline is lost (the quota is then counted in Postgres, and the
// usage sweep repairs a counter that drifted), which the rate limiters,
// whose late answers still count, must not be. Set before the first use.
func honourDeadlines(rdb redis.UniversalClient) {
	switch c := rdb.(type) {
	case *redis.Client:
		c.Options().ContextTimeoutEnabled = true
	case *redis.ClusterClient:
		c.Options().ContextTimeoutEnabled = true
	}
}
