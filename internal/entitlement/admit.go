package entitlement

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"aias/internal/plan"
	"aias/internal/postgres"
)

// Admitter is the one admission path of new runs. A webhook delivery, a
// manual trigger, a replay (one or in bulk) and a cron tick each ask it
// before they store a run, and the scheduler asks it how many held runs
// to release; the rule is stated here and nowhere else:
//
//   - A run within the plan's monthly quota is counted and queued.
//   - Over the quota it is stored as held, up to the plan's held_runs, and
//     released, oldest first, when the quota allows again (Room).
//   - Beyond the held buffer it is refused: 429 quota_exhausted with
//     Retry-After at the end of the period.
//   - A repeat (a delivery sent again) is answered with its first run and
//     counts nothing: a counted admission whose insert finds the run
//     already there is given back, and a run the quota would hold or
//     refuse is first looked up as a repeat (Request.Repeat), so a repeat
//     is never held or refused for a full quota.
//
// The count is a Redis counter, consulted first; Postgres is read only to
// rebuild it, to count held runs, or when Redis is away (Quota). One
// Admitter, built by internal/app, serves every program of a process.
type Admitter struct {
	Plans     Checker
	Quota     *Quota         // nil: no monthly quota (tests of other packages)
	Artifacts *ArtifactBytes // the artifact bytes per month (the worker's steps)
	Now       func() time.Time
}

// NewAdmitter is the admitter of a catalogue, counting in rdb.
func NewAdmitter(plans *plan.Catalog, rdb redis.UniversalClient) *Admitter {
	return &Admitter{Plans: Checker{Plans: plans}, Quota: &Quota{Redis: rdb}, Artifacts: &ArtifactBytes{Redis: rdb}}
}

// Request is one new run to admit.
type Request struct {
	TenantID uuid.UUID
	// Plan is the tenant's stored plan name when the caller read it already
	// (the intake's endpoint lookup does); empty: Admit reads it.
	Plan string
	// Repeat looks for an earlier run this one repeats: the run a
	// delivery with the same id, or the same body within its replay window,
	// created. nil: the run cannot be a repeat.
	Repeat func(ctx context.Context) (runID uuid.UUID, found bool, err error)
}

// Insert stores the admitted run, as held or not, and reports whether the
// run was there already (a repeat its own insert found).
type Insert func(held bool) (repeat bool, err error)

// Admit decides the new run of r and stores it with insert. q reads as the
// tenant (its transaction, or DB.Scoped).
//
// The Admission says what became of the run: Held (stored as held),
// Repeat (nothing stored: the earlier run's id), or neither (stored and to
// be queued). A refusal is the error (quota_exhausted); an error of insert
// is returned as it is. An admission that did not become a new run is
// given back before Admit returns; the caller gives back one whose
// transaction fails afterwards (Admission.Undo). A nil Admitter admits
// every run.
func (a *Admitter) Admit(ctx context.Context, q postgres.Getter, r Request, insert Insert) (Admission, error) {
	adm, err := a.decide(ctx, q, r)
	if err != nil || adm.Repeat != uuid.Nil {
		return adm, err
	}
	repeat, err := insert(adm.Held)
	if err != nil || repeat {
		adm.Undo() // a repeat counts nothing; a failed insert stored nothing
		return Admission{}, err
	}
	return adm, nil
}

// decide counts the run against the quota; unless it is admitted plainly,
// it looks for the run it repeats first.
func (a *Admitter) decide(ctx context.Context, q postgres.Getter, r Request) (Admission, error) {
	if a == nil || a.Quota == nil {
		return Admission{}, nil
	}
	p, err := a.planOf(ctx, q, r)
	if err != nil {
		return Admission{}, err
	}
	adm, err := a.Quota.admit(ctx, q, r.TenantID, p, a.now())
	if (err == nil && !adm.Held) || r.Repeat == nil {
		return adm, err
	}
	id, found, ferr := r.Repeat(ctx)
	if ferr != nil {
		return Admission{}, ferr // a held admission holds no count: nothing to give back
	}
	if found {
		return Admission{Repeat: id}, nil
	}
	return adm, err
}

func (a *Admitter) planOf(ctx context.Context, q postgres.Getter, r Request) (plan.Plan, error) {
	if r.Plan != "" {
		return a.Plans.Resolve(r.Plan), nil
	}
	return a.Plans.PlanOf(ctx, q, r.TenantID)
}

// Room is how many of its held runs the tenant's quota admits at now
// (planName: the tenant's stored plan); q reads as the tenant.
func (a *Admitter) Room(ctx context.Context, q postgres.Getter, planName string, now time.Time) (int64, error) {
	return Room(ctx, q, a.Plans.Resolve(planName), now)
}

// Released tells the quota that held runs of the tenant were released (and
// so counted in Postgres): its counter is dropped, and the next admission
// rebuilds it from the record.
func (a *Admitter) Released(ctx context.Context, tenantID uuid.UUID, now time.Time) {
	if a.Quota != nil {
		a.Quota.Forget(ctx, tenantID, now)
	}
}

func (a *Admitter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
