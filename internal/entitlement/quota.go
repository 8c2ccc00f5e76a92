package entitlement

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
)

// Quota counts the runs admitted against the monthly run quota; Admitter
// applies it (the rule is stated there).
//
// The counter lives in Redis (one INCR per run, no Postgres row lock that
// would serialize a tenant's intake); Postgres is the record: each admitted
// run has counted_at, and a missing counter (first use, a flushed or
// replaced Redis) is rebuilt from the runs counted this period. The margin
// by which a tenant can exceed its quota is the number of admissions in
// flight while the counter is being rebuilt — at most the requests being
// served at that moment. If Redis is unreachable, admission counts in
// process instead, from the record read once per tenant (localCounts),
// rather than failing open or counting the month in Postgres at every
// delivery.
type Quota struct {
	Redis  redis.UniversalClient
	Prefix string // default "aias:quota:"
	local  localCounts
}

// Admission is the answer for one new run.
type Admission struct {
	Held   bool      // over quota: the run is stored as held
	Repeat uuid.UUID // not Nil: the run repeats this earlier one; nothing was stored or counted
	undo   func()    // gives the admission back (duplicate delivery, failed insert)
}

// Undo returns an admission that did not become a run.
func (a Admission) Undo() {
	if a.undo != nil {
		a.undo()
	}
}

// PeriodStart is the start of the quota period (the calendar month, UTC).
func PeriodStart(now time.Time) time.Time {
	u := now.UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// admit counts a new run of the tenant (queued), or, over the quota, holds
// it within the plan's buffer or refuses it (see Admitter). q reads as the
// tenant (its transaction, or DB.Scoped); it is read only to rebuild the
// counter, to count held runs, or when Redis is away.
func (qu *Quota) admit(ctx context.Context, q postgres.Getter, tenantID uuid.UUID, p plan.Plan, now time.Time) (Admission, error) {
	limit := p.Limits.RunsPerMonth
	if limit == plan.Unlimited {
		return Admission{}, nil
	}
	start := PeriodStart(now)
	n, undo, err := qu.count(ctx, q, tenantID, start)
	if err != nil {
		return Admission{}, err
	}
	if n <= limit {
		return Admission{undo: undo}, nil
	}
	undo() // not admitted: the counter counts admitted runs only
	var held int64
	if err := q.GetContext(ctx, &held, `SELECT count(*) FROM runs WHERE tenant_id = $1 AND status = 'held'`, tenantID); err != nil {
		return Admission{}, fmt.Errorf("count held runs: %w", postgres.Classify(err))
	}
	if plan.Within(int64(p.Limits.HeldRuns), held+1) {
		return Admission{Held: true}, nil
	}
	e := errs.E(errs.RateLimited, "quota_exhausted",
		fmt.Sprintf("the %s plan's %d runs this month are used and its buffer of %d held runs is full", p.Name, limit, p.Limits.HeldRuns))
	e.RetryAfter = start.AddDate(0, 1, 0).Sub(now)
	return Admission{}, e
}

// count increments the tenant's counter for the period and returns the new
// value with a function that takes the increment back.
func (qu *Quota) count(ctx context.Context, q postgres.Getter, tenantID uuid.UUID, start time.Time) (int64, func(), error) {
	return qu.counter().add(ctx, tenantID, start, 1, func() (int64, error) { return CountedSince(ctx, q, start) })
}

func (qu *Quota) counter() periodCounter {
	return periodCounter{Redis: qu.Redis, Prefix: qu.prefix(), local: &qu.local}
}

// Reconcile compares every tenant counter of the current period with the
// runs Postgres counted and drops the counters that drifted (an undo lost
// to a crash between INCR and the run's commit, say), so the next admission
// rebuilds them from the record. counted reads one tenant's count under its
// own tenant transaction. It returns how many counters were dropped.
func (qu *Quota) Reconcile(ctx context.Context, now time.Time, counted func(tenantID uuid.UUID, start time.Time) (int64, error)) (int, error) {
	return qu.counter().reconcile(ctx, now, counted, inFlightSlack)
}

// inFlightSlack is how far a counter may run ahead of the committed runs
// before Reconcile calls it drifted.
const inFlightSlack = 2

// Forget drops a tenant's counter so the next admission rebuilds it from
// Postgres (after held runs were released, say).
func (qu *Quota) Forget(ctx context.Context, tenantID uuid.UUID, now time.Time) {
	key := qu.counter().key(tenantID, PeriodStart(now))
	qu.local.forget(key)
	_ = qu.Redis.Del(ctx, key).Err()
}

func (qu *Quota) prefix() string {
	if qu.Prefix == "" {
		return "aias:quota:"
	}
	return qu.Prefix
}

// CountedSince is how many runs of the transaction's tenant were admitted
// against the quota since start.
func CountedSince(ctx context.Context, q postgres.Getter, start time.Time) (int64, error) {
	var n int64
	if err := q.GetContext(ctx, &n, `SELECT count(*) FROM runs WHERE tenant_id = $2 AND counted_at >= $1`, start, postgres.Tenant(q)); err != nil {
		return 0, fmt.Errorf("count runs this period: %w", postgres.Classify(err))
	}
	return n, nil
}

// Room is how many held runs the tenant's quota can take now.
func Room(ctx context.Context, q postgres.Getter, p plan.Plan, now time.Time) (int64, error) {
	if p.Limits.RunsPerMonth == plan.Unlimited {
		return 1 << 30, nil
	}
	used, err := CountedSince(ctx, q, PeriodStart(now))
	if err != nil {
		return 0, err
	}
	return max(p.Limits.RunsPerMonth-used, 0), nil
}
