package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/telemetry"
	"aias/internal/workflow"
)

// CronLease is the name of the lease whose holder ticks cron schedules.
const CronLease = "cron"

// CronOptions configure the cron ticker. Zero fields take the defaults.
type CronOptions struct {
	LeaseTTL time.Duration // one acquisition of the lease; renewed every third of it (default 15s)
	Interval time.Duration // how often the leader looks for due ticks (default 1s)
	// MissedAfter: a tick not handled within this time of its due time (no
	// scheduler was leading) counts as missed and follows the workflow's
	// catch-up policy. It must exceed LeaseTTL, or a plain leader failover
	// would drop ticks (default 1m).
	MissedAfter time.Duration
	BatchSize   int              // due schedules read per query (default 100)
	Holder      string           // this replica in the lease table (default NewHolderID())
	Now         func() time.Time // the clock ticks are read on (default time.Now; tests pass a fake one)
	Log         zerolog.Logger
	Metrics     *telemetry.Metrics    // optional
	Admitter    *entitlement.Admitter // optional: each run is admitted against the tenant's plan
}

// Cron starts the runs of cron-scheduled workflows. Every scheduler replica
// runs one; only the holder of the "cron" lease ticks.
//
// Exactly one run per tick: the leader handles a workflow's due ticks in one
// transaction that (1) fences on the lease, (2) locks the workflow row and
// re-reads its next tick, (3) inserts each tick's run under an id derived
// from the workflow and the tick time, and (4) advances schedule_next_at past
// now. A second leader (after a lost lease) or a retry finds the tick
// advanced, or the run already there.
type Cron struct {
	db    *postgres.DB
	queue run.Enqueuer
	lease *Lease
	opt   CronOptions
}

// NewCron builds the cron ticker.
func NewCron(db *postgres.DB, q run.Enqueuer, o CronOptions) *Cron {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 15 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.MissedAfter <= 0 {
		o.MissedAfter = time.Minute
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Holder == "" {
		o.Holder = NewHolderID()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cron{db: db, queue: q, lease: NewLease(db, CronLease, o.Holder, o.LeaseTTL), opt: o}
}

// Lease is the cron lease as this replica sees it.
func (c *Cron) Lease() *Lease { return c.lease }

// Run keeps trying for the lease and, while it holds it, ticks every
// Interval, until ctx is done; then it releases the lease so another replica
// takes over at once.
func (c *Cron) Run(ctx context.Context) error {
	c.opt.Log.Info().Str("holder", c.lease.Holder()).Dur("lease_ttl", c.opt.LeaseTTL).Msg("cron started")
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		c.keepLease(ctx)
	}()
	t := time.NewTicker(c.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			<-kept
			c.release(ctx)
			return nil
		case <-t.C:
		}
		if !c.lease.Held() {
			continue
		}
		if _, err := c.Tick(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNotLeader) {
			c.opt.Log.Warn().Err(err).Msg("cron tick failed; the next pass retries")
		}
	}
}

// keepLease acquires or renews the lease: every third of the TTL while
// leading, every Interval while following.
func (c *Cron) keepLease(ctx context.Context) {
	leading := false
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := c.lease.Acquire(ctx)
		if err != nil && ctx.Err() == nil {
			c.opt.Log.Warn().Err(err).Bool("leading", ok).Msg("cron lease could not be renewed")
		}
		if ok != leading {
			leading = ok
			c.opt.Metrics.Leading(ok)
			if ok {
				c.opt.Log.Info().Str("holder", c.lease.Holder()).Msg("cron lease acquired: this scheduler ticks")
			} else {
				c.opt.Log.Warn().Str("holder", c.lease.Holder()).Msg("cron lease lost: this scheduler stops ticking")
			}
		}
		wait := c.opt.LeaseTTL / 3
		if !ok {
			wait = min(wait, c.opt.Interval)
		}
		t.Reset(wait)
	}
}

func (c *Cron) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.opt.Metrics.Leading(false)
	if err := c.lease.Release(rctx); err != nil {
		c.opt.Log.Warn().Err(err).Msg("cron lease not released; another scheduler takes over when it expires")
		return
	}
	c.opt.Log.Info().Str("holder", c.lease.Holder()).Msg("cron stopped; lease released")
}

// TickResult says what one pass over the due schedules did.
type TickResult struct {
	Workflows int // schedules that were due
	Fired     int // runs started
	Held      int // runs stored held: over the monthly quota
	Skipped   int // ticks that start no run: missed and dropped by the catch-up policy, or of a disabled workflow
	Refused   int // ticks refused by the quota (held-run buffer full)
	Duplicate int // ticks whose run existed already
	Failed    int // schedules that could not be handled; the next pass retries them
}

// maxBatches bounds one pass, so a schedule that keeps failing cannot hold
// the leader in one pass forever.
const maxBatches = 10

type dueSchedule struct {
	WorkflowID uuid.UUID `db:"workflow_id"`
	TenantID   uuid.UUID `db:"tenant_id"`
	NextAt     time.Time `db:"next_at"`
}

// Tick handles every schedule due as of the Now clock, once. It returns
// ErrNotLeader, having done nothing more, as soon as the lease is not held.
func (c *Cron) Tick(ctx context.Context) (TickResult, error) {
	var res TickResult
	if !c.lease.Held() {
		return res, ErrNotLeader
	}
	now := c.opt.Now()
	defer func() { c.report(res) }()
	for range maxBatches {
		var due []dueSchedule
		const q = `SELECT workflow_id, tenant_id, next_at FROM aias_due_schedules($1, $2)`
		if err := c.db.SelectContext(ctx, &due, q, now, c.opt.BatchSize); err != nil {
			return res, fmt.Errorf("find due schedules: %w", postgres.Classify(err))
		}
		for _, d := range due {
			if !c.lease.Held() {
				return res, ErrNotLeader
			}
			err := c.handle(ctx, d, now, &res)
			if errors.Is(err, ErrNotLeader) || ctx.Err() != nil {
				return res, err
			}
			if err != nil {
				res.Failed++
				c.opt.Log.Warn().Err(err).Str("workflow_id", d.WorkflowID.String()).Str("tenant_id", d.TenantID.String()).
					Msg("schedule could not be handled; the next pass retries")
			}
		}
		if len(due) < c.opt.BatchSize {
			break
		}
	}
	return res, nil
}

// report is the pass's metrics and its one log line.
func (c *Cron) report(res TickResult) {
	m := c.opt.Metrics
	m.Ticked(telemetry.TickFired, res.Fired)
	m.Ticked(telemetry.TickHeld, res.Held)
	m.Ticked(telemetry.TickSkipped, res.Skipped)
	m.Ticked(telemetry.TickRefused, res.Refused)
	if res.Workflows+res.Failed == 0 {
		return
	}
	c.opt.Log.Info().Int("workflows", res.Workflows).Int("fired", res.Fired).Int("held", res.Held).
		Int("skipped", res.Skipped).Int("refused", res.Refused).Int("duplicate", res.Duplicate).
		Int("failed", res.Failed).Msg("cron ticks")
}

// handled is what one workflow's transaction did; it counts only once the
// transaction commits.
type handled struct {
	res    TickResult
	queued []uuid.UUID
	max    int                     // the runs' max_attempts
	adms   []entitlement.Admission // given back if the transaction fails
}

func (h *handled) undo() {
	for _, a := range h.adms {
		a.Undo()
	}
}

func (c *Cron) handle(ctx context.Context, d dueSchedule, now time.Time, res *TickResult) error {
	var h handled
	err := c.db.InTenantTx(ctx, d.TenantID, func(q postgres.Querier) error {
		if err := c.lease.Fence(ctx, q); err != nil {
			return err
		}
		return c.handleTx(ctx, q, d.WorkflowID, now, &h)
	})
	if err != nil {
		h.undo()
		return err
	}
	res.Workflows++
	res.Fired += h.res.Fired
	res.Held += h.res.Held
	res.Skipped += h.res.Skipped
	res.Refused += h.res.Refused
	res.Duplicate += h.res.Duplicate
	ectx := logging.With(context.WithoutCancel(ctx), c.opt.Log)
	for _, id := range h.queued {
		run.Enqueue(ectx, c.queue, d.TenantID, id, h.max)
	}
	return nil
}

// scheduledWorkflow is the locked workflow row of a due schedule.
type scheduledWorkflow struct {
	ID           uuid.UUID  `db:"id"`
	TenantID     uuid.UUID  `db:"tenant_id"`
	Version      int        `db:"current_version"`
	Enabled      bool       `db:"enabled"`
	TenantActive bool       `db:"tenant_active"`
	NextAt       *time.Time `db:"schedule_next_at"`
}

func (c *Cron) handleTx(ctx context.Context, q postgres.Querier, id uuid.UUID, now time.Time, h *handled) error {
	var w scheduledWorkflow
	const lock = `
SELECT w.id, w.tenant_id, w.current_version, w.enabled, w.schedule_next_at,
       EXISTS (SELECT 1 FROM tenants t WHERE t.id = w.tenant_id AND t.status = 'active') AS tenant_active
  FROM workflows w WHERE w.id = $1 AND w.tenant_id = $2 AND w.deleted_at IS NULL
   FOR UPDATE OF w`
	err := q.GetContext(ctx, &w, lock, id, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return nil // deleted since it was listed
	}
	if err != nil {
		return fmt.Errorf("lock scheduled workflow %s: %w", id, postgres.Classify(err))
	}
	if w.NextAt == nil || w.NextAt.After(now) {
		return nil // handled by another leader, or rescheduled, since it was listed
	}
	def, err := workflow.Pinned(ctx, q, w.ID, w.Version)
	if err != nil {
		return err
	}
	if def.Schedule == nil {
		return setNextTick(ctx, q, w.ID, time.Time{})
	}
	cr, err := def.Schedule.ParseCron()
	if err != nil {
		c.opt.Log.Warn().Err(err).Str("workflow_id", w.ID.String()).Msg("stored schedule does not parse; it is off until the workflow is saved again")
		return setNextTick(ctx, q, w.ID, time.Time{})
	}
	p := planTicks(cr, def.Schedule.EffectiveCatchUp(), *w.NextAt, now, c.opt.MissedAfter)
	h.res.Skipped = p.skipped
	if !w.Enabled || !w.TenantActive {
		h.res.Skipped += len(p.fire)
		p.fire = nil
	}
	h.max = def.EffectiveMaxAttempts()
	for _, t := range p.fire {
		if err := c.start(ctx, q, w, def, cr, t, h); err != nil {
			return err
		}
	}
	return setNextTick(ctx, q, w.ID, p.next)
}

// start inserts the run of one tick, admitted against the monthly quota.
func (c *Cron) start(ctx context.Context, q postgres.Querier, w scheduledWorkflow, def workflow.Definition,
	cr *workflow.Cron, t tickRun, h *handled) error {
	var id uuid.UUID
	var dup bool
	adm, err := c.opt.Admitter.Admit(ctx, q, entitlement.Request{TenantID: w.TenantID}, func(held bool) (bool, error) {
		var err error
		id, dup, err = run.Insert(ctx, q, run.New{ID: TickRunID(w.ID, t.at), TenantID: w.TenantID, WorkflowID: w.ID,
			WorkflowVersion: w.Version, TriggerKind: run.TriggerSchedule, MaxAttempts: h.max,
			Body: tickBody(def.Schedule.Cron, cr, t), ContentType: "application/json",
			ReceivedAt: time.Now(), Held: held, KeyExpr: def.ConcurrencyKey})
		return dup, err
	})
	switch {
	case errs.KindOf(err) == errs.RateLimited:
		h.res.Refused++
		return nil
	case err != nil:
		return err
	case dup:
		h.res.Duplicate++ // the tick's run is there already: a second leader, or a retry
		return nil
	}
	h.adms = append(h.adms, adm)
	if adm.Held {
		h.res.Held++
		return nil
	}
	h.res.Fired++
	h.queued = append(h.queued, id)
	return nil
}

func setNextTick(ctx context.Context, q postgres.Querier, id uuid.UUID, next time.Time) error {
	var at *time.Time
	if !next.IsZero() {
		at = &next
	}
	const advance = `UPDATE workflows SET schedule_next_at = $2 WHERE id = $1 AND tenant_id = $3`
	if _, err := q.ExecContext(ctx, advance, id, at, postgres.Tenant(q)); err != nil {
		return fmt.Errorf("advance schedule of workflow %s: %w", id, postgres.Classify(err))
	}
	return nil
}

// TickRunID is the id of the run a workflow's tick at t starts: a name-based
// (v5) UUID in the workflow's namespace, the same on every replica.
func TickRunID(workflowID uuid.UUID, t time.Time) uuid.UUID {
	return uuid.NewSHA1(workflowID, []byte(t.UTC().Format(time.RFC3339)))
}

// tickTrigger is trigger.body of a scheduled run.
type tickTrigger struct {
	ScheduledAt string `json:"scheduled_at"`     // the tick, RFC 3339 in the schedule's time zone
	Schedule    string `json:"schedule"`         // the cron expression
	Missed      int    `json:"missed,omitempty"` // a catch-up run: how many missed ticks it stands for
}

func tickBody(expr string, cr *workflow.Cron, t tickRun) []byte {
	b, _ := json.Marshal(tickTrigger{ScheduledAt: t.at.In(cr.Location()).Format(time.RFC3339), Schedule: expr, Missed: t.missed})
	return b
}
