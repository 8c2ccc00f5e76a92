// Package ingress is AIAS's HTTP edge: webhook intake and the management API
// on the public port, and the ops listener of every program (ops.go: metrics,
// health, readiness, the queue dashboard). Echo appears here and nowhere
// else; handlers translate HTTP to domain calls and domain errors to
// problem+json (problem.go).
package ingress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/account"
	"aias/internal/billing"
	"aias/internal/entitlement"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/ratelimit"
	"aias/internal/run"
	"aias/internal/step"
	"aias/internal/telemetry"
	"aias/internal/webhook"
)

// Options configure the ingress.
type Options struct {
	PublicURL     string
	MaxBodyBytes  int64 // default per-endpoint body limit
	MaxBodyLimit  int64 // the largest an endpoint may set
	SignupEnabled bool
	// SecureCookies marks the console's sign-in cookie Secure (everywhere
	// but dev, which serves plain http on 127.0.0.1).
	SecureCookies     bool
	SignupLimit       ratelimit.Limit // per client IP (zero: none)
	TestLimit         ratelimit.Limit // test runs of a definition per tenant (zero: none)
	ShutdownTimeout   time.Duration
	ReadHeaderTimeout time.Duration
	RequestTimeout    time.Duration
	// BodyTimeout cuts a request body not read in full within it (408
	// body_timeout); zero: only RequestTimeout.
	BodyTimeout time.Duration
	// DBConnWait bounds each request's wait for a Postgres connection (503
	// storage_unavailable beyond); zero: the request deadline.
	DBConnWait time.Duration
	// EnqueueBudget bounds how long a request waits for Redis to take a
	// committed run's task (run.Handoff); zero: the queue client's timeouts.
	EnqueueBudget time.Duration
	// GroupCommit is the most runs the intake commits in one transaction
	// (run.GroupCommit), with GroupCommitFlushers commits in flight; 0 or
	// 1: each delivery commits alone.
	GroupCommit         int
	GroupCommitFlushers int
	TrustedProxies      []*net.IPNet
	IPLimit             ratelimit.Limit
	EndpointLimit       ratelimit.Limit
	// EndpointCacheTTL is how long the intake keeps a resolved endpoint;
	// zero looks every delivery's endpoint up.
	EndpointCacheTTL time.Duration
	// Extra are routes a tool adds to the public port beside the route
	// table: 'aias bench ingress' adds the floor the bench measures the
	// intake against (internal/tools/bench/floor). The production programs
	// add none.
	Extra []ExtraRoute
}

// ExtraRoute is a route outside the route table (Options.Extra), served
// without a key behind the same middleware as every route — request id,
// logger, metrics, recover, deadline, tracing — and answering an error the
// way every route does (problem.go). New refuses one under /api or on a
// path of the table, so a tool can neither shadow nor extend the API.
type ExtraRoute struct {
	Method, Path string
	Handle       func(w http.ResponseWriter, r *http.Request) error
}

// Deps are the ingress's collaborators.
type Deps struct {
	DB     *postgres.DB
	Redis  redis.UniversalClient // readiness only
	Queue  run.Enqueuer
	Revive run.Reviver // re-drives runs whose task was archived
	Keys   webhook.Sealer
	// Admitter is what tenants' plans allow, and the admission of every
	// new run; nil: the built-in plans, counted in Redis (tests).
	Admitter *entitlement.Admitter
	Billing  *billing.Service
	// Accounts are the people of the console (sign-ins, invitations,
	// resets, members); nil: no sign-in cookie is accepted.
	Accounts *account.Service
	Limiter  Limiter
	Metrics  *telemetry.Metrics
	Log      zerolog.Logger
	Tracer   trace.TracerProvider // nil: tracing off (tracing.go)
	// HTTPClient is the egress-guarded client the steps of a workflow's
	// test run use (POST /api/v1/workflows/test); nil fails such steps.
	HTTPClient *http.Client
}

// Server is the ingress HTTP server.
type Server struct {
	db       *postgres.DB
	redis    redis.UniversalClient // readiness only
	queue    run.Enqueuer
	queues   run.Reviver
	keys     webhook.Sealer
	ent      entitlement.Checker
	admit    *entitlement.Admitter
	billing  *billing.Service
	accounts *account.Service
	limiter  Limiter
	intakes  *webhook.Intake
	trials   *run.Executor // test runs of definitions (workbench.go)
	metrics  *telemetry.Metrics
	log      zerolog.Logger
	opt      Options
	echo     *echo.Echo
}

// New builds the server and its routes. It panics on an extra route that
// would shadow or extend the API, a mistake of the program that asks for it.
func New(d Deps, o Options) *Server {
	for _, x := range o.Extra {
		if err := checkExtra(x); err != nil {
			panic(err)
		}
	}
	if d.Admitter == nil {
		d.Admitter = entitlement.NewAdmitter(plan.Default(), d.Redis)
	}
	if o.EnqueueBudget > 0 {
		d.Queue = run.NewHandoff(d.Queue, o.EnqueueBudget)
	}
	s := &Server{db: d.DB, redis: d.Redis, queue: d.Queue, queues: d.Revive, keys: d.Keys, ent: d.Admitter.Plans, admit: d.Admitter, billing: d.Billing, accounts: d.Accounts, limiter: d.Limiter, metrics: d.Metrics, log: d.Log, opt: o,
		intakes: &webhook.Intake{DB: d.DB, Queue: d.Queue, Keys: d.Keys, DefaultMaxBody: o.MaxBodyBytes, Admitter: d.Admitter,
			CacheTTL: o.EndpointCacheTTL}}
	if o.GroupCommit > 1 {
		s.intakes.Runs = run.NewGroupCommit(d.DB, o.GroupCommitFlushers, o.GroupCommit)
		s.intakes.Runs.Observe = d.Metrics.IntakeCommitted
	}
	s.trials = &run.Executor{DB: d.DB, Deps: step.Deps{HTTPClient: d.HTTPClient}, Keys: d.Keys, Plans: &d.Admitter.Plans}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler
	e.IPExtractor = ipExtractor(o.TrustedProxies)
	e.Use(traceRequests(d.Tracer)) // outermost: sees the final status and the request id
	e.Use(s.requestContext)
	if o.RequestTimeout > 0 {
		e.Use(requestDeadline(o.RequestTimeout))
	}
	e.Use(connWait(o.DBConnWait), bodyDeadline(o.BodyTimeout))
	s.routes(e)
	s.echo = e
	return s
}

// checkExtra refuses an extra route under /api or on a path of the route
// table.
func checkExtra(x ExtraRoute) error {
	if strings.HasPrefix(x.Path, "/api") {
		return fmt.Errorf("ingress: extra route %s %s: /api belongs to the route table", x.Method, x.Path)
	}
	for _, r := range routeTable {
		if r.path == x.Path {
			return fmt.Errorf("ingress: extra route %s %s shadows a route of the table", x.Method, x.Path)
		}
	}
	return nil
}

// Handler exposes the router (tests drive it with httptest).
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists every registered route (for the route-table tests).
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// Serve accepts connections on ln until ctx is done, then stops accepting
// and drains in-flight requests for up to ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		ReadTimeout:       s.opt.RequestTimeout,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("ingress listening")
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info().Msg("ingress stopping: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.waitForMail(sctx)
	s.log.Info().Msg("ingress stopped")
	return nil
}

// waitForMail waits, until ctx ends, for the emails the requests sent in
// the background (reset links): they were promised to someone already
// answered.
func (s *Server) waitForMail(ctx context.Context) {
	if s.accounts == nil {
		return
	}
	sent := make(chan struct{})
	go func() { s.accounts.Wait(); close(sent) }()
	select {
	case <-sent:
	case <-ctx.Done():
		s.log.Warn().Msg("emails still being sent were dropped at shutdown")
	}
}

// ListenAndServe listens on addr and serves (see Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}
