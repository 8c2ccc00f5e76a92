// Package config loads AIAS configuration from environment variables.
//
// Configuration is environment-only: one struct, parsed with caarlos0/env,
// then validated for the role the program plays. A missing or malformed value
// stops the program with one message that names every problem at once.
// What validation has to parse to check (the plans file, the keys, the
// egress allow-list, CIDRs) it keeps, parsed, in Config.Parsed: the
// programs are built from that, so nothing is parsed, or read, twice.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caarlos0/env/v11"

	"aias/internal/account"
	"aias/internal/keyring"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/queue"
	"aias/internal/ratelimit"
	"aias/internal/safehttp"
	"aias/internal/telemetry"
)

// Role is what a program does; validation checks only what the role needs.
type Role int

// The roles. RoleDev is every serving role in one process.
const (
	RoleIngress Role = 1 << iota
	RoleWorker
	RoleScheduler
	RoleMigrate
	RoleDev = RoleIngress | RoleWorker | RoleScheduler | RoleMigrate
)

// Serves reports whether r includes every bit of o.
func (r Role) Serves(o Role) bool { return r&o == o }

// Config is every setting AIAS reads. The `help` tag feeds --help.
type Config struct {
	Env string `env:"AIAS_ENV" envDefault:"production" help:"dev or production; production refuses a Redis that may evict keys (dev only warns), an encryption key published in the AIAS repository and an operator token shorter than 32 characters"`

	DatabaseURL        string        `env:"DATABASE_URL" help:"Postgres URL of the application (non-owner, non-superuser) role"`
	MigrateDatabaseURL string        `env:"AIAS_MIGRATE_DATABASE_URL" help:"Postgres URL of the schema owner, used by 'aias migrate' (defaults to DATABASE_URL)"`
	DBMaxConns         int           `env:"AIAS_DB_MAX_CONNS" envDefault:"20" help:"maximum open Postgres connections per process"`
	DBConnWait         time.Duration `env:"AIAS_DB_CONN_WAIT" envDefault:"1s" help:"how long an intake or API request waits for a Postgres connection before it is answered 503 storage_unavailable with Retry-After (0: until the request deadline)"`
	RedisURL           string        `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" help:"Redis URL of the asynq queue: redis://, rediss:// (TLS), redis-sentinel://host:port[,host:port...]/db?master=NAME or redis-cluster://host:port[,host:port...] (docs/operations.md#redis)"`

	LogLevel  string `env:"AIAS_LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	LogFormat string `env:"AIAS_LOG_FORMAT" envDefault:"json" help:"json or pretty"`

	OTelExporter string `env:"AIAS_OTEL_EXPORTER" envDefault:"none" help:"OpenTelemetry traces: none, otlp-http, otlp-grpc or stdout (JSON on stderr); the SDK itself reads OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (docs/operations.md#traces)"`

	PlansFile      string `env:"AIAS_PLANS_FILE" help:"YAML or JSON plan catalogue (limits, features, Stripe prices); empty: the built-in free, pro and business"`
	EncryptionKeys string `env:"AIAS_ENCRYPTION_KEYS" help:"key-encryption keys for secrets at rest: 'id:base64(32 bytes)[,id:...]', the first encrypts, all decrypt ('aias keys generate' makes one)"`

	SMTPHost     string `env:"AIAS_SMTP_HOST" help:"SMTP relay that emails invitation and password reset links; empty: links are only shown (an operator makes reset links with 'aias user reset-link')"`
	SMTPPort     int    `env:"AIAS_SMTP_PORT" envDefault:"587" help:"port of the SMTP relay: 465 speaks TLS at once, others upgrade with STARTTLS when offered"`
	SMTPFrom     string `env:"AIAS_SMTP_FROM" help:"sender address of the emails (required with AIAS_SMTP_HOST)"`
	SMTPUsername string `env:"AIAS_SMTP_USERNAME" help:"SMTP login, sent only over TLS or to localhost; empty: no login"`
	SMTPPassword string `env:"AIAS_SMTP_PASSWORD" help:"SMTP password"`

	OperatorToken         string        `env:"AIAS_OPERATOR_TOKEN" help:"token (HTTP Basic password or Bearer) for the asynq dashboard at /admin/queues on the ingress's ops listener, at least 32 characters in production; empty: the dashboard is off (aias dev makes one)"`
	AdminActions          bool          `env:"AIAS_ADMIN_ACTIONS" envDefault:"false" help:"let the dashboard act on tasks (retry, delete, archive, pause); a change needs the token as a Bearer token, or Basic from the dashboard's own page; off: read-only"`
	MetricsAddr           string        `env:"AIAS_METRICS_ADDR" envDefault:":9091" help:"listen address of the ops listener of every program: /metrics, /healthz, /readyz, and on the ingress /admin/queues; keep it off the public network; off: no ops listener"`
	HTTPAddr              string        `env:"AIAS_HTTP_ADDR" envDefault:":8080" help:"listen address of the ingress"`
	PublicURL             string        `env:"AIAS_PUBLIC_URL" envDefault:"http://127.0.0.1:8080" help:"absolute base URL senders use; intake URLs are built from it"`
	MaxBodyBytes          int64         `env:"AIAS_MAX_BODY_BYTES" envDefault:"1048576" help:"webhook body limit of endpoints that set none, in bytes"`
	MaxBodyLimit          int64         `env:"AIAS_MAX_BODY_LIMIT" envDefault:"26214400" help:"the largest body limit an endpoint may set, in bytes"`
	SignupEnabled         bool          `env:"AIAS_SIGNUP_ENABLED" envDefault:"false" help:"whether signup is open to anyone: POST /api/v1/signup (a tenant and an API key) and the console's /signup (a person with a password) (aias dev opens it); closed: tenants are made with 'aias tenant create', people join by invitation"`
	SignupRatePerHour     int           `env:"AIAS_SIGNUP_RATE_PER_HOUR" envDefault:"5" help:"signups per hour from one client IP (an IPv6 /64) while signup is open; 0: no limit"`
	TestRatePerMinute     int           `env:"AIAS_WORKFLOW_TEST_RATE_PER_MINUTE" envDefault:"30" help:"test runs of a definition (POST /api/v1/workflows/test) per minute per tenant; they are not stored nor counted against the monthly quota, so this bounds them; 0: no limit"`
	ShutdownTimeout       time.Duration `env:"AIAS_SHUTDOWN_TIMEOUT" envDefault:"15s" help:"how long the ingress drains in-flight requests on SIGTERM"`
	ReadHeaderTimeout     time.Duration `env:"AIAS_READ_HEADER_TIMEOUT" envDefault:"5s" help:"a client that has not sent its headers by then is dropped"`
	RequestTimeout        time.Duration `env:"AIAS_REQUEST_TIMEOUT" envDefault:"30s" help:"deadline of one request, body upload included"`
	BodyTimeout           time.Duration `env:"AIAS_BODY_TIMEOUT" envDefault:"10s" help:"a request body not received in full this long after its headers is cut and answered 408 body_timeout (0: only AIAS_REQUEST_TIMEOUT)"`
	EnqueueBudget         time.Duration `env:"AIAS_INTAKE_ENQUEUE_BUDGET" envDefault:"200ms" help:"how long the intake waits for Redis to take a run's task before it answers anyway; the run is committed first, and a task not taken in time is enqueued in the background or by the sweep"`
	GroupCommit           int           `env:"AIAS_INTAKE_GROUP_COMMIT" envDefault:"32" help:"the most runs of one tenant's deliveries arriving together that the intake commits in one transaction, each sender still answered after its own run is committed; batches form only while the tenant's AIAS_INTAKE_GROUP_COMMIT_FLUSHERS commits are in flight, so a delivery that finds none waits for nothing (docs/benchmarks.md); 0 or 1: one transaction per delivery"`
	GroupCommitFlushers   int           `env:"AIAS_INTAKE_GROUP_COMMIT_FLUSHERS" envDefault:"1" help:"intake transactions of one tenant in flight at once in one ingress process, with AIAS_INTAKE_GROUP_COMMIT above 1"`
	TrustedProxies        []string      `env:"AIAS_TRUSTED_PROXIES" envSeparator:"," help:"CIDRs of proxies whose X-Forwarded-For is believed; empty: the peer address is the client"`
	RateIPPerSecond       int           `env:"AIAS_RATE_LIMIT_IP_PER_SECOND" envDefault:"100" help:"intake requests per second per client IP, before verification (0: off)"`
	RateIPBurst           int           `env:"AIAS_RATE_LIMIT_IP_BURST" envDefault:"200" help:"burst of the per-IP intake limit"`
	RateEndpointPerSecond int           `env:"AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND" envDefault:"50" help:"intake requests per second per endpoint (0: off)"`
	RateEndpointBurst     int           `env:"AIAS_RATE_LIMIT_ENDPOINT_BURST" envDefault:"100" help:"burst of the per-endpoint intake limit"`
	EndpointCacheTTL      time.Duration `env:"AIAS_ENDPOINT_CACHE_TTL" envDefault:"1s" help:"how long the ingress keeps a resolved webhook endpoint; a change made through another ingress process applies within this (0: look every delivery up)"`

	WorkerConcurrency     int           `env:"AIAS_WORKER_CONCURRENCY" envDefault:"10" help:"runs executed at once by one worker process"`
	WorkerShutdownTimeout time.Duration `env:"AIAS_WORKER_SHUTDOWN_TIMEOUT" envDefault:"25s" help:"how long in-flight steps may finish on SIGTERM before their runs are handed back"`
	RetryBase             time.Duration `env:"AIAS_RETRY_BASE" envDefault:"2s" help:"first retry delay; doubles per attempt, with jitter"`
	RetryMax              time.Duration `env:"AIAS_RETRY_MAX" envDefault:"10m" help:"cap of the retry delay"`
	RunHeartbeat          time.Duration `env:"AIAS_RUN_HEARTBEAT" envDefault:"2s" help:"how often a worker touches a run whose step is in flight; a canceled run's step is stopped within this"`
	HTTPStepTimeout       time.Duration `env:"AIAS_HTTP_STEP_MAX_TIMEOUT" envDefault:"60s" help:"upper bound of any http step's timeout"`
	EgressAllow           string        `env:"AIAS_EGRESS_ALLOW" help:"CIDRs http steps may reach although private, loopback or link-local (e.g. 10.1.0.0/16); empty: public addresses only"`
	EgressAllowPorts      string        `env:"AIAS_EGRESS_ALLOW_PORTS" envDefault:"80,443" help:"the only ports http steps may reach on the addresses of AIAS_EGRESS_ALLOW (e.g. 80,443,8080), so the database, Redis and ops listeners on an allowed network stay out of reach; public addresses: any port; *: every port"`

	StripeWebhookSecret string        `env:"STRIPE_WEBHOOK_SECRET" help:"signing secret of the Stripe webhook endpoint (whsec_...); empty: /api/stripe/webhook answers 503"`
	StripeAPIKey        string        `env:"STRIPE_API_KEY" help:"Stripe secret key for Checkout and billing-portal sessions"`
	StripeAPIBase       string        `env:"STRIPE_API_BASE" help:"Stripe API base URL (stripe-mock in tests); empty: Stripe"`
	StripeSuccessURL    string        `env:"STRIPE_SUCCESS_URL" help:"where Checkout returns after payment"`
	StripeCancelURL     string        `env:"STRIPE_CANCEL_URL" help:"where Checkout returns when abandoned"`
	StripePortalReturn  string        `env:"STRIPE_PORTAL_RETURN_URL" help:"where the billing portal returns"`
	BillingGrace        time.Duration `env:"AIAS_BILLING_GRACE" envDefault:"72h" help:"how long a past-due tenant keeps its plan before dropping to the default plan"`

	SweepInterval     time.Duration `env:"AIAS_SWEEP_INTERVAL" envDefault:"10s" help:"how often the scheduler re-enqueues runs missing from the queue"`
	SweepQueuedGrace  time.Duration `env:"AIAS_SWEEP_QUEUED_GRACE" envDefault:"15s" help:"age after which a queued run is checked against the queue"`
	SweepRunningStale time.Duration `env:"AIAS_SWEEP_RUNNING_STALE" envDefault:"5m" help:"a running run with no progress for this long is handed back to the queue"`
	ReclaimAfter      time.Duration `env:"AIAS_RUN_RECLAIM_AFTER" envDefault:"6s" help:"a running run whose worker has not touched it for this long (its heartbeat, AIAS_RUN_HEARTBEAT, stopped: the worker died) is given to another worker; must exceed twice AIAS_RUN_HEARTBEAT (0: left to AIAS_SWEEP_RUNNING_STALE)"`
	ReclaimInterval   time.Duration `env:"AIAS_RECLAIM_INTERVAL" envDefault:"2s" help:"how often the scheduler looks for runs to reclaim (AIAS_RUN_RECLAIM_AFTER)"`

	SchedulerLeaseTTL   time.Duration `env:"AIAS_SCHEDULER_LEASE_TTL" envDefault:"15s" help:"lifetime of the cron leader lease; the leader renews it every third of this, and a replica takes over this long after the leader died"`
	ScheduleMissedAfter time.Duration `env:"AIAS_SCHEDULE_MISSED_AFTER" envDefault:"1m" help:"a cron tick not started within this of its time (no scheduler was leading) is missed and follows the workflow's catch_up policy; must exceed AIAS_SCHEDULER_LEASE_TTL"`

	// Parsed is what Load made of the settings above that are more than a
	// string or a number. It has no variable of its own.
	Parsed Parsed `env:"-"`
}

// Parsed holds the settings Load parsed while validating them, so that
// nothing parses them again: internal/app builds the programs from these,
// and the plans file is read once, at start. Only what the role needs is
// parsed; the rest stays zero (a worker has no trusted proxies, an ingress
// no egress allow-list).
type Parsed struct {
	Plans *plan.Catalog    // AIAS_PLANS_FILE, or the built-in catalogue; never nil
	Keys  *keyring.Keyring // AIAS_ENCRYPTION_KEYS (ingress, worker)
	// Egress is the http steps' guard (worker): AIAS_EGRESS_ALLOW,
	// AIAS_EGRESS_ALLOW_PORTS and AIAS_HTTP_STEP_MAX_TIMEOUT.
	Egress safehttp.Policy
	Log    logging.Options // AIAS_LOG_LEVEL and AIAS_LOG_FORMAT

	// The ingress's client addresses and intake limits.
	TrustedProxies []*net.IPNet    // AIAS_TRUSTED_PROXIES
	IPLimit        ratelimit.Limit // AIAS_RATE_LIMIT_IP_*
	EndpointLimit  ratelimit.Limit // AIAS_RATE_LIMIT_ENDPOINT_*
	SignupLimit    ratelimit.Limit // AIAS_SIGNUP_RATE_PER_HOUR
	TestLimit      ratelimit.Limit // AIAS_WORKFLOW_TEST_RATE_PER_MINUTE
}

// MetricsOff as AIAS_METRICS_ADDR turns the ops listener off.
const MetricsOff = "off"

// Load parses the environment through getenv and validates it for role r.
func Load(getenv func(string) string, r Role) (Config, error) {
	var c Config
	parseErr := parseProblems(env.ParseWithOptions(&c, env.Options{Environment: environ(getenv)}))
	if c.MigrateDatabaseURL == "" {
		c.MigrateDatabaseURL = c.DatabaseURL
	}
	if c.MetricsAddr == MetricsOff { // an empty value would mean the default
		c.MetricsAddr = ""
	}
	parsed, err := c.Validate(r)
	c.Parsed = parsed
	if err := errors.Join(parseErr, err); err != nil {
		return c, fmt.Errorf("configuration:\n%w", err)
	}
	return c, nil
}

// parseProblems restates the parser's errors by variable name: the operator
// set AIAS_SHUTDOWN_TIMEOUT, not the Go field ShutdownTimeout.
func parseProblems(err error) error {
	if err == nil {
		return nil
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	byField := map[string]string{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		byField[t.Field(i).Name] = t.Field(i).Tag.Get("env")
	}
	var problems []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			problems = append(problems, fmt.Errorf("  %s: %w", byField[pe.Name], pe.Err))
			continue
		}
		problems = append(problems, fmt.Errorf("  %w", e))
	}
	return errors.Join(problems...)
}

// Dev reports whether the program runs in development mode.
func (c Config) Dev() bool { return c.Env == "dev" }

// SMTP is the relay settings of AIAS_SMTP_* (Host empty: no email).
func (c Config) SMTP() account.SMTPSettings {
	return account.SMTPSettings{Host: c.SMTPHost, Port: c.SMTPPort, From: c.SMTPFrom, Username: c.SMTPUsername, Password: c.SMTPPassword}
}

// Validate reports every problem with c for role r at once. What it had to
// parse to check it (the plans file, the keys, the allow-lists) it returns,
// parsed, as far as r needs it.
func (c Config) Validate(r Role) (Parsed, error) {
	var problems []error
	var add problem = func(format string, args ...any) { problems = append(problems, fmt.Errorf("  "+format, args...)) }
	p := Parsed{Plans: plan.Default(), Log: logging.Options{Level: c.LogLevel, Pretty: c.LogFormat == "pretty"},
		Egress: safehttp.Policy{Total: c.HTTPStepTimeout}}
	if c.Env != "dev" && c.Env != "production" {
		add("AIAS_ENV must be dev or production, got %q", c.Env)
	}
	if c.DatabaseURL == "" {
		add("DATABASE_URL is required")
	} else if err := checkURL(c.DatabaseURL, "postgres", "postgresql"); err != nil {
		add("DATABASE_URL: %v", err)
	}
	if r.Serves(RoleMigrate) {
		if err := checkURL(c.MigrateDatabaseURL, "postgres", "postgresql"); c.MigrateDatabaseURL != "" && err != nil {
			add("AIAS_MIGRATE_DATABASE_URL: %v", err)
		}
	}
	if c.DBMaxConns < 2 {
		add("AIAS_DB_MAX_CONNS must be >= 2, got %d", c.DBMaxConns)
	}
	if r&(RoleIngress|RoleWorker|RoleScheduler) != 0 {
		if err := checkURL(c.RedisURL, "redis", "rediss", "redis-sentinel", "redis-cluster"); err != nil {
			add("REDIS_URL: %v", err)
		} else if _, err := queue.RedisOpt(c.RedisURL); err != nil {
			add("%v", err) // names REDIS_URL: a sentinel URL without its master, say
		}
	}
	if !oneOf(c.LogLevel, "debug", "info", "warn", "error") {
		add("AIAS_LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if !oneOf(c.LogFormat, "json", "pretty") {
		add("AIAS_LOG_FORMAT must be json or pretty, got %q", c.LogFormat)
	}
	if !slices.Contains(telemetry.Exporters, c.OTelExporter) {
		add("AIAS_OTEL_EXPORTER must be one of %s, got %q", strings.Join(telemetry.Exporters, ", "), c.OTelExporter)
	}
	if r.Serves(RoleIngress) {
		c.checkIngress(add, &p)
	}
	c.parsePlansAndKeys(r, add, &p)
	if r.Serves(RoleWorker) {
		c.checkWorker(add, &p)
	}
	if r.Serves(RoleScheduler) && (c.SweepInterval <= 0 || c.SweepQueuedGrace <= 0 || c.SweepRunningStale <= 0) {
		add("AIAS_SWEEP_INTERVAL, AIAS_SWEEP_QUEUED_GRACE and AIAS_SWEEP_RUNNING_STALE must be > 0")
	}
	if r.Serves(RoleScheduler) && c.ReclaimAfter != 0 && (c.ReclaimAfter <= 2*c.RunHeartbeat || c.ReclaimInterval <= 0) {
		add("AIAS_RUN_RECLAIM_AFTER must be 0 or more than twice AIAS_RUN_HEARTBEAT (%s), and AIAS_RECLAIM_INTERVAL > 0, got %s and %s",
			c.RunHeartbeat, c.ReclaimAfter, c.ReclaimInterval)
	}
	if r.Serves(RoleScheduler) && (c.SchedulerLeaseTTL < time.Second || c.ScheduleMissedAfter <= c.SchedulerLeaseTTL) {
		add("AIAS_SCHEDULER_LEASE_TTL must be >= 1s and AIAS_SCHEDULE_MISSED_AFTER greater than it, got %s and %s",
			c.SchedulerLeaseTTL, c.ScheduleMissedAfter)
	}
	if c.Env == "production" {
		problems = append(problems, c.productionProblems(r, p.Keys)...)
	}
	return p, errors.Join(problems...)
}

// problem adds one problem to Validate's list.
type problem func(format string, args ...any)

// checkIngress checks what the ingress alone needs, parsing its client
// addresses and intake limits into p.
func (c Config) checkIngress(add problem, p *Parsed) {
	if err := checkURL(c.PublicURL, "http", "https"); err != nil {
		add("AIAS_PUBLIC_URL: %v", err)
	}
	if c.MaxBodyLimit < 1024 || c.MaxBodyLimit > 100<<20 {
		add("AIAS_MAX_BODY_LIMIT must be between 1024 and %d, got %d", 100<<20, c.MaxBodyLimit)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > c.MaxBodyLimit {
		add("AIAS_MAX_BODY_BYTES must be between 1024 and AIAS_MAX_BODY_LIMIT (%d), got %d", c.MaxBodyLimit, c.MaxBodyBytes)
	}
	for _, cidr := range c.TrustedProxies {
		_, n, err := net.ParseCIDR(strings.TrimSpace(cidr))
		if err != nil {
			add("AIAS_TRUSTED_PROXIES: %q is not a CIDR", cidr)
			continue
		}
		p.TrustedProxies = append(p.TrustedProxies, n)
	}
	if c.RateIPPerSecond < 0 || c.RateIPBurst < 0 || c.RateEndpointPerSecond < 0 || c.RateEndpointBurst < 0 {
		add("AIAS_RATE_LIMIT_* must be >= 0")
	}
	if c.SMTPHost != "" {
		if _, err := account.NewSMTP(c.SMTP()); err != nil {
			add("AIAS_SMTP_*: %v", err)
		}
	}
	if c.SignupRatePerHour < 0 {
		add("AIAS_SIGNUP_RATE_PER_HOUR must be >= 0, got %d", c.SignupRatePerHour)
	}
	if c.TestRatePerMinute < 0 {
		add("AIAS_WORKFLOW_TEST_RATE_PER_MINUTE must be >= 0, got %d", c.TestRatePerMinute)
	}
	p.IPLimit = ratelimit.PerSecond(c.RateIPPerSecond, c.RateIPBurst)
	p.EndpointLimit = ratelimit.PerSecond(c.RateEndpointPerSecond, c.RateEndpointBurst)
	p.SignupLimit = ratelimit.Limit{Rate: c.SignupRatePerHour, Burst: c.SignupRatePerHour, Period: time.Hour}
	p.TestLimit = ratelimit.Limit{Rate: c.TestRatePerMinute, Burst: c.TestRatePerMinute, Period: time.Minute}
	if c.ReadHeaderTimeout <= 0 || c.RequestTimeout <= 0 {
		add("AIAS_READ_HEADER_TIMEOUT and AIAS_REQUEST_TIMEOUT must be > 0")
	}
	if c.GroupCommit < 0 || c.GroupCommitFlushers < 1 {
		add("AIAS_INTAKE_GROUP_COMMIT must be >= 0 and AIAS_INTAKE_GROUP_COMMIT_FLUSHERS >= 1, got %d and %d", c.GroupCommit, c.GroupCommitFlushers)
	}
	if c.DBConnWait < 0 || c.BodyTimeout < 0 || c.EnqueueBudget < 0 {
		add("AIAS_DB_CONN_WAIT, AIAS_BODY_TIMEOUT and AIAS_INTAKE_ENQUEUE_BUDGET must be >= 0")
	}
}

// parsePlansAndKeys reads the plan catalogue (every role: billing and the
// CLI's checks need it too) and the keys (the roles that seal or open
// secrets) into p.
func (c Config) parsePlansAndKeys(r Role, add problem, p *Parsed) {
	if c.PlansFile != "" {
		plans, err := plan.LoadFile(c.PlansFile)
		if err != nil {
			add("AIAS_PLANS_FILE: %v", err)
		} else {
			p.Plans = plans
		}
	}
	if r&(RoleIngress|RoleWorker) == 0 {
		return
	}
	var err error
	if c.EncryptionKeys == "" {
		add("AIAS_ENCRYPTION_KEYS is required (generate one with 'aias keys generate')")
	} else if p.Keys, err = keyring.Parse(c.EncryptionKeys); err != nil {
		add("AIAS_ENCRYPTION_KEYS: %v", err)
	}
}

// checkWorker checks what the worker alone needs, parsing the egress
// guard of its http steps into p.
func (c Config) checkWorker(add problem, p *Parsed) {
	var err error
	if p.Egress.Allow, err = safehttp.ParseAllow(c.EgressAllow); err != nil {
		add("AIAS_EGRESS_ALLOW: %v", err)
	}
	if p.Egress.AllowPorts, err = safehttp.ParsePorts(c.EgressAllowPorts); err != nil {
		add("AIAS_EGRESS_ALLOW_PORTS: %v", err)
	}
	if c.WorkerConcurrency < 1 {
		add("AIAS_WORKER_CONCURRENCY must be >= 1, got %d", c.WorkerConcurrency)
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		add("AIAS_RETRY_BASE must be > 0 and <= AIAS_RETRY_MAX, got %s and %s", c.RetryBase, c.RetryMax)
	}
}

// MinOperatorToken is the shortest operator token production accepts: the
// token opens the queue dashboard, so it must not be guessable.
const MinOperatorToken = 32

// productionProblems are the settings that are fine on a laptop and unsafe
// on a server: keys anyone with the source holds and a guessable operator
// token. keys is the parsed AIAS_ENCRYPTION_KEYS (nil: unset, malformed or
// not needed by the role).
func (c Config) productionProblems(r Role, keys *keyring.Keyring) []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf("  "+format, args...)) }
	if keys != nil {
		for _, id := range publishedIDs(c.EncryptionKeys) {
			add("AIAS_ENCRYPTION_KEYS: key %q is published in the AIAS repository, so it protects nothing: generate one with 'aias keys generate', put it first, run 'aias secrets rewrap', then remove %q (AIAS_ENV=production refuses published keys)", id, id)
		}
	}
	if r.Serves(RoleIngress) {
		if n := utf8.RuneCountInString(c.OperatorToken); n > 0 && n < MinOperatorToken {
			add("AIAS_OPERATOR_TOKEN must be at least %d characters with AIAS_ENV=production, got %d (make one with 'openssl rand -base64 32')", MinOperatorToken, n)
		}
	}
	return problems
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if !oneOf(u.Scheme, schemes...) {
		return fmt.Errorf("scheme must be %s", strings.Join(schemes, " or "))
	}
	if u.Host == "" {
		return errors.New("host is missing")
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func environ(getenv func(string) string) map[string]string {
	m := map[string]string{}
	for _, f := range fields() {
		if v := getenv(f.Name); v != "" {
			m[f.Name] = v
		}
	}
	return m
}

// Field describes one environment variable for --help.
type Field struct{ Name, Default, Help string }

func fields() []Field {
	t := reflect.TypeFor[Config]()
	out := make([]Field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("env") == "-" { // Parsed: no variable
			continue
		}
		out = append(out, Field{Name: f.Tag.Get("env"), Default: f.Tag.Get("envDefault"), Help: f.Tag.Get("help")})
	}
	return out
}

// Help lists every environment variable with its default and meaning.
func Help() string {
	var b strings.Builder
	b.WriteString("Environment variables:\n")
	for _, f := range fields() {
		def := f.Default
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "  %-36s %s\n  %-36s default: %s\n", f.Name, f.Help, "", def)
	}
	return b.String()
}
