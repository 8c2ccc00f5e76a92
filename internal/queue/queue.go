// Package queue is AIAS's side of Redis as a work queue: the asynq task
// types and their payloads, the client that enqueues them (and tells the
// sweep whether a run's task exists), REDIS_URL parsed into a server,
// Sentinel or Cluster connection, and the check of the Redis server's
// settings and reachability that readiness and start-up use (redischeck.go).
//
// Two task types carry work, each with a task id derived from its run, so
// enqueueing one twice (intake and sweep racing, two schedulers) creates one
// task: asynq keeps task ids unique while a task exists in any state.
// run:execute (TaskID = the run id) executes a run; run:notify (notify.go)
// delivers a finished run's on_finish notification.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/logging"
	"aias/internal/telemetry"
)

// Task types.
const TypeRunExecute = "run:execute"

// QueueDefault is the queue every task is enqueued to.
const QueueDefault = "default"

// Weights are the queues a worker serves, with their priorities for
// asynq's server: only the queue tasks are enqueued to. asynq's processor
// tries the queues it serves in a weighted random order on every fetch,
// one Lua script each, so a queue that never holds a task costs a Redis
// round trip on most fetches (1.9 dequeue scripts per run with the unused
// "critical" and "low" queues of before) and three scripts per poll of an
// idle worker, for every worker of the fleet.
var Weights = map[string]int{QueueDefault: 1}

// RunExecute is the payload of run:execute. The run row in Postgres holds
// everything else; the payload only names it.
type RunExecute struct {
	TenantID uuid.UUID `json:"tenant_id"`
	RunID    uuid.UUID `json:"run_id"`
}

// minRetryBackstop is asynq's smallest retry limit for a run: each step has
// a retry budget of its own (up to workflow.MaxMaxAttempts), so a run with
// several flaky steps may need more deliveries than any one budget.
const minRetryBackstop = 60

// RunTimeout bounds one delivery of a run:execute task.
const RunTimeout = 15 * time.Minute

// NewRunExecute builds the task; the request id and the trace context (when
// a span is active) travel in its headers.
func NewRunExecute(ctx context.Context, p RunExecute, maxAttempts int) (*asynq.Task, error) {
	return newRunExecute(ctx, p, maxAttempts, p.RunID.String())
}

// ReclaimTaskID is the id of the task that takes over a run from a delivery
// that can no longer finish it (why: "attempt-N" for a running run whose
// heartbeat stopped at attempt N, say). The suffix keeps one reclaim task
// per occasion: the scheduler asking again is a no-op.
func ReclaimTaskID(runID uuid.UUID, why string) string { return runID.String() + ":reclaim:" + why }

func newRunExecute(ctx context.Context, p RunExecute, maxAttempts int, taskID string) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", TypeRunExecute, err)
	}
	// The run's attempt budget lives in Postgres; asynq's retry limit is a
	// generous backstop so asynq never gives up before the run does.
	return asynq.NewTaskWithHeaders(TypeRunExecute, b, telemetry.InjectTrace(ctx, logging.Headers(ctx)),
		asynq.TaskID(taskID), asynq.Queue(QueueDefault),
		asynq.MaxRetry(max(2*maxAttempts+5, minRetryBackstop)), asynq.Timeout(RunTimeout)), nil
}

// ParseRunExecute decodes a run:execute payload.
func ParseRunExecute(t *asynq.Task) (RunExecute, error) {
	var p RunExecute
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("decode %s payload: %w", TypeRunExecute, err)
	}
	if p.RunID == uuid.Nil || p.TenantID == uuid.Nil {
		return p, fmt.Errorf("decode %s payload: run_id and tenant_id are required", TypeRunExecute)
	}
	return p, nil
}

// RedisOpt parses REDIS_URL into asynq options with short timeouts, so a
// Redis outage costs the intake milliseconds, not the default seconds:
//
//	redis://[user:password@]host:port/db      one server
//	rediss://[user:password@]host:port/db     one server over TLS
//	redis-sentinel://[user:password@]host:port[,host:port...]/db?master=NAME[&sentinel_password=P]
//	redis-cluster://[user:password@]host:port[,host:port...]   a Redis Cluster (database 0 only)
//
// A Sentinel URL lists the sentinels; clients ask them for the current
// primary and follow a failover. Its user and password are the primary's
// (the data's), as in the other URLs; sentinels that want a password of
// their own get sentinel_password. (asynq's own parser reads the URL's
// password as the sentinels' and has no way to give the primary's.)
func RedisOpt(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	var opt asynq.RedisConnOpt
	switch u.Scheme {
	case "redis-sentinel":
		opt, err = sentinelOpt(u)
	case "redis-cluster":
		opt, err = clusterOpt(u)
	default:
		return singleOpt(raw)
	}
	if err != nil {
		return nil, err
	}
	return opt, nil
}

func singleOpt(raw string) (asynq.RedisConnOpt, error) {
	o, err := asynq.ParseRedisURI(raw)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	opt, ok := o.(asynq.RedisClientOpt)
	if !ok {
		return nil, errors.New("REDIS_URL: the scheme must be redis, rediss, redis-sentinel or redis-cluster")
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	return opt, nil
}

const (
	redisDialTimeout = time.Second
	redisIOTimeout   = 2 * time.Second
)

func sentinelOpt(u *url.URL) (opt asynq.RedisFailoverClientOpt, err error) {
	opt = asynq.RedisFailoverClientOpt{
		MasterName:       u.Query().Get("master"),
		SentinelPassword: u.Query().Get("sentinel_password"),
		Username:         u.User.Username(),
		DialTimeout:      redisDialTimeout,
		ReadTimeout:      redisIOTimeout,
		WriteTimeout:     redisIOTimeout,
	}
	opt.Password, _ = u.User.Password()
	for k := range u.Query() {
		if k != "master" && k != "sentinel_password" {
			return opt, fmt.Errorf("REDIS_URL: unknown redis-sentinel parameter %q (known: master, sentinel_password)", k)
		}
	}
	if opt.MasterName == "" {
		return opt, errors.New("REDIS_URL: a redis-sentinel URL needs ?master=<name of the monitored primary>")
	}
	if opt.SentinelAddrs, err = hostPorts(u.Host); err != nil {
		return opt, err
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return opt, fmt.Errorf("REDIS_URL: database %q is not a number", db)
		}
		opt.DB = n
	}
	return opt, nil
}

// clusterOpt: the addresses of some of the cluster's nodes (the client
// learns the rest), the user and password of every node. A cluster has
// only database 0.
func clusterOpt(u *url.URL) (asynq.RedisClusterClientOpt, error) {
	opt := asynq.RedisClusterClientOpt{Username: u.User.Username(),
		DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout}
	opt.Password, _ = u.User.Password()
	if len(u.Query()) > 0 {
		return opt, errors.New("REDIS_URL: a redis-cluster URL takes no parameters")
	}
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		return opt, fmt.Errorf("REDIS_URL: a Redis Cluster has only database 0, got %q", db)
	}
	var err error
	opt.Addrs, err = hostPorts(u.Host)
	return opt, err
}

// hostPorts splits a URL's host list: host:port[,host:port...].
func hostPorts(list string) ([]string, error) {
	var addrs []string
	for _, addr := range strings.Split(list, ",") {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return nil, fmt.Errorf("REDIS_URL: address %q is not host:port", addr)
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// Client enqueues tasks.
type Client struct {
	c    *asynq.Client
	opt  asynq.RedisConnOpt
	once sync.Once
	insp *asynq.Inspector
	// Metrics, when set, observes how long each EnqueueRun takes.
	Metrics *telemetry.Metrics
}

// NewClient connects a client to Redis (lazily: it never fails on start).
func NewClient(opt asynq.RedisConnOpt) *Client { return &Client{c: asynq.NewClient(opt), opt: opt} }

// Close releases the connection pools.
func (c *Client) Close() error {
	if c.insp != nil {
		_ = c.insp.Close()
	}
	return c.c.Close()
}

// EnqueueRun enqueues run:execute for a run. A task that already exists for
// the run is success: the run is queued exactly once.
func (c *Client) EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) (err error) {
	ctx, span := startEnqueue(ctx, runID) // tracing.go
	defer func() { telemetry.EndSpan(span, err) }()
	t, err := NewRunExecute(ctx, RunExecute{TenantID: tenantID, RunID: runID}, maxAttempts)
	if err != nil {
		return err
	}
	started := time.Now()
	err = c.enqueueOnce(ctx, t)
	c.Metrics.Enqueued(time.Since(started), err)
	if err != nil {
		return fmt.Errorf("enqueue run %s: %w", runID, err)
	}
	return nil
}

// enqueueOnce enqueues t within a short timeout; a task that already holds
// t's id is success (the id is derived from the run, so that task is this
// one).
func (c *Client) enqueueOnce(ctx context.Context, t *asynq.Task) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := c.c.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Presence is what the queue holds for a run, as the sweep sees it.
type Presence int

// The presences.
const (
	Enqueued Presence = iota // there was no task; one was enqueued now
	Present                  // a live task exists (pending, scheduled, retry or active)
	Archived                 // only an archived (or completed) task exists and it holds the run's id
	Active                   // the task is being processed (a worker holds its lease, or held it and died)
)

// Ensure enqueues the run's task unless one exists, and says which.
func (c *Client) Ensure(ctx context.Context, tenantID, runID uuid.UUID) (Presence, error) {
	t, err := NewRunExecute(ctx, RunExecute{TenantID: tenantID, RunID: runID}, defaultBackstop)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = c.c.EnqueueContext(ctx, t)
	if err == nil {
		return Enqueued, nil
	}
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return 0, fmt.Errorf("enqueue run %s: %w", runID, err)
	}
	info, err := c.inspector().GetTaskInfo(QueueDefault, runID.String())
	if err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) {
			return Present, nil // finished between the two calls
		}
		return 0, fmt.Errorf("inspect task of run %s: %w", runID, err)
	}
	switch info.State {
	case asynq.TaskStateArchived, asynq.TaskStateCompleted:
		return Archived, nil
	case asynq.TaskStateActive:
		return Active, nil
	}
	return Present, nil
}

// Reclaim enqueues a task of its own id (ReclaimTaskID) for a run whose
// task cannot finish it: its worker died (the task stays active until the
// queue's lease and recoverer bring it back, a minute later), or Redis
// froze as a worker took it. The claim (aias_claim_run) lets exactly one
// of the two tasks hold the run. A reclaim task that exists already is
// success.
func (c *Client) Reclaim(ctx context.Context, tenantID, runID uuid.UUID, why string) error {
	t, err := newRunExecute(ctx, RunExecute{TenantID: tenantID, RunID: runID}, defaultBackstop, ReclaimTaskID(runID, why))
	if err != nil {
		return err
	}
	if err := c.enqueueOnce(ctx, t); err != nil {
		return fmt.Errorf("reclaim run %s: %w", runID, err)
	}
	return nil
}

// Revive replaces an archived task of a run that is not finished (asynq gave
// up on it before the run's own budget did) with a fresh one.
func (c *Client) Revive(ctx context.Context, tenantID, runID uuid.UUID) error {
	err := c.inspector().DeleteTask(QueueDefault, runID.String())
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return fmt.Errorf("delete archived task of run %s: %w", runID, err)
	}
	return c.EnqueueRun(ctx, tenantID, runID, defaultBackstop)
}

// defaultBackstop sizes asynq's retry limit when the run's own budget is not
// at hand (the sweep); the run's row is what counts.
const defaultBackstop = 10

// Nudge starts a waiting run's task now instead of at its next retry time
// (a run whose turn in its concurrency key just came). A task that is not
// waiting is left as it is.
func (c *Client) Nudge(_ context.Context, _ uuid.UUID, runID uuid.UUID) error {
	err := c.inspector().RunTask(QueueDefault, runID.String())
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return fmt.Errorf("nudge run %s: %w", runID, err)
	}
	return nil
}

func (c *Client) inspector() *asynq.Inspector {
	c.once.Do(func() { c.insp = asynq.NewInspector(c.opt) })
	return c.insp
}
