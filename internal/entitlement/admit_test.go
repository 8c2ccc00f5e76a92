package entitlement_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/workflow"
)

// admitPlans: the default plan (every new tenant's, once resolved) admits
// 2 runs a month and holds 1 more; big counts nothing.
const admitPlans = `
default: small
plans:
  - name: small
    limits: {workflows: 5, webhook_endpoints: 5, runs_per_month: 2, steps_per_workflow: 10, max_payload_bytes: 65536,
             artifact_bytes_per_month: 1048576, retention_days: 1, concurrency: 2, held_runs: 1}
  - name: big
    limits: {workflows: -1, webhook_endpoints: -1, runs_per_month: -1, steps_per_workflow: 100, max_payload_bytes: 1048576,
             artifact_bytes_per_month: -1, retention_days: 30, concurrency: 10, held_runs: -1}
`

type admitBundle struct {
	db     *pgtest.DB
	rdb    *redis.Client
	tenant uuid.UUID
	wf     workflow.Workflow
	now    time.Time
}

func setupAdmitter(t *testing.T) (*entitlement.Admitter, admitBundle) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	rdb := redistest.Client(t, redistest.New(t))
	plans, err := plan.Load([]byte(admitPlans))
	if err != nil {
		t.Fatal(err)
	}
	s, err := tenant.Create(ctx, db.DB, "quota@example.com", "quota")
	if err != nil {
		t.Fatal(err)
	}
	b := admitBundle{db: db, rdb: rdb, tenant: s.TenantID, now: time.Now()}
	def := workflow.Definition{Name: "w", Steps: []workflow.Step{{Name: "a", Type: "transform", With: map[string]any{"output": "1"}}}}
	err = db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) (err error) {
		b.wf, err = workflow.Create(ctx, q, s.TenantID, def)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := entitlement.NewAdmitter(plans, rdb)
	a.Now = func() time.Time { return b.now }
	return a, b
}

// insert stores a run of the bundle's workflow with id (uuid.Nil: a new
// one), as held or not, and counts its calls.
func (b admitBundle) insert(t *testing.T, id uuid.UUID, calls *int) entitlement.Insert {
	return func(held bool) (bool, error) {
		*calls++
		_, dup, err := run.Insert(context.Background(), b.db.DB, run.New{ID: id, TenantID: b.tenant, WorkflowID: b.wf.ID,
			WorkflowVersion: b.wf.Version, TriggerKind: run.TriggerManual, MaxAttempts: 3, Body: []byte(`{}`),
			ContentType: "application/json", ReceivedAt: b.now, Held: held})
		return dup, err
	}
}

// admit admits one new run of the tenant and says how it went: "queued",
// "held", "repeat" or the error's code.
func (b admitBundle) admit(t *testing.T, a *entitlement.Admitter, r entitlement.Request, insert entitlement.Insert) string {
	t.Helper()
	r.TenantID = b.tenant
	adm, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), r, insert)
	switch {
	case err != nil:
		return errs.CodeOf(err)
	case adm.Repeat != uuid.Nil:
		return "repeat"
	case adm.Held:
		return "held"
	}
	return "queued"
}

func (b admitBundle) countStatus(t *testing.T, status run.Status) int {
	t.Helper()
	var n int
	err := b.db.Scoped(b.tenant).GetContext(context.Background(), &n,
		`SELECT count(*) FROM runs WHERE tenant_id = $1 AND status = $2`, b.tenant, string(status))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAdmitterQueuesWithinTheQuotaHoldsBeyondItThenRefuses(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	var got []string
	calls := 0
	for range 4 {
		got = append(got, b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)))
	}
	want := []string{"queued", "queued", "held", "quota_exhausted"}
	if !slices.Equal(got, want) {
		t.Fatalf("four runs on a quota of 2 with 1 held = %v, want %v", got, want)
	}
	if calls != 3 {
		t.Errorf("insert called %d times, want 3: a refused run is not stored", calls)
	}
	if q, h := b.countStatus(t, run.Queued), b.countStatus(t, run.Held); q != 2 || h != 1 {
		t.Errorf("stored %d queued and %d held runs, want 2 and 1", q, h)
	}
	_, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), entitlement.Request{TenantID: b.tenant}, b.insert(t, uuid.Nil, &calls))
	e, ok := errs.As(err)
	periodEnd := entitlement.PeriodStart(b.now).AddDate(0, 1, 0)
	if !ok || e.Kind != errs.RateLimited || e.RetryAfter != periodEnd.Sub(b.now) {
		t.Errorf("a refusal = %v, want RateLimited with Retry-After %s (the end of the period)", err, periodEnd.Sub(b.now))
	}
}

// A repeat is answered with its first run, never held or refused for a
// full quota, and counts nothing.
func TestARepeatIsAnsweredEvenWithTheQuotaFullAndCountsNothing(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	calls, looked := 0, 0
	first := uuid.New()
	repeat := func(context.Context) (uuid.UUID, bool, error) { looked++; return first, true, nil }
	// Within the quota the run is admitted plainly: no lookup (its insert
	// would find a repeat itself).
	if got := b.admit(t, a, entitlement.Request{Repeat: repeat}, b.insert(t, uuid.Nil, &calls)); got != "queued" || looked != 0 {
		t.Fatalf("a run within the quota = %s after %d lookups, want queued after none", got, looked)
	}
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)) // held: the quota and the buffer are full
	calls = 0
	adm, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), entitlement.Request{TenantID: b.tenant, Repeat: repeat}, b.insert(t, uuid.Nil, &calls))
	if err != nil || adm.Repeat != first || adm.Held || calls != 0 {
		t.Fatalf("a repeat with the quota full = %+v, %v after %d inserts; want the first run, nothing stored", adm, err, calls)
	}
	noRepeat := func(context.Context) (uuid.UUID, bool, error) { return uuid.Nil, false, nil }
	if got := b.admit(t, a, entitlement.Request{Repeat: noRepeat}, b.insert(t, uuid.Nil, &calls)); got != "quota_exhausted" {
		t.Errorf("a new run with the quota full = %s, want quota_exhausted: the repeat counted", got)
	}
	boom := errors.New("lookup failed")
	failing := func(context.Context) (uuid.UUID, bool, error) { return uuid.Nil, false, boom }
	if _, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), entitlement.Request{TenantID: b.tenant, Repeat: failing}, b.insert(t, uuid.Nil, &calls)); !errors.Is(err, boom) {
		t.Errorf("a failed repeat lookup = %v, want its error (not a refusal the sender would take as final)", err)
	}
}

// An admission whose insert finds the run already there (a repeat its own
// insert caught) or fails is given back: the quota counts runs stored.
func TestAnAdmissionThatStoredNoNewRunIsGivenBack(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	calls := 0
	tick := uuid.New()
	if got := b.admit(t, a, entitlement.Request{}, b.insert(t, tick, &calls)); got != "queued" {
		t.Fatalf("the first run = %s, want queued", got)
	}
	for range 3 {
		adm, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), entitlement.Request{TenantID: b.tenant}, b.insert(t, tick, &calls))
		if err != nil || adm.Held || adm.Repeat != uuid.Nil {
			t.Fatalf("the same run again = %+v, %v; want a plain admission given back", adm, err)
		}
	}
	boom := errors.New("insert failed")
	failing := func(bool) (bool, error) { return false, boom }
	if _, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), entitlement.Request{TenantID: b.tenant}, failing); !errors.Is(err, boom) {
		t.Fatalf("a failed insert = %v, want its error as it is", err)
	}
	// One run stored: one more fits the quota, then the buffer.
	got := []string{b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)), b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))}
	if want := []string{"queued", "held"}; !slices.Equal(got, want) {
		t.Errorf("after three repeats and a failed insert = %v, want %v: they were counted", got, want)
	}
}

// A transaction that fails after its run was admitted gives the admission
// back with Undo.
func TestUndoGivesBackAnAdmissionWhoseTransactionFailed(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	calls := 0
	for range 2 {
		adm, err := a.Admit(context.Background(), b.db.Scoped(b.tenant), entitlement.Request{TenantID: b.tenant},
			func(bool) (bool, error) { return false, nil }) // stored, then rolled back
		if err != nil || adm.Held {
			t.Fatalf("admission = %+v, %v; want plain", adm, err)
		}
		adm.Undo()
	}
	if got := b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)); got != "queued" {
		t.Errorf("after two admissions undone = %s, want queued", got)
	}
}

// The counter is Redis's; Postgres rebuilds it when Redis lost it, and
// answers alone when Redis is away.
func TestTheQuotaIsRebuiltFromPostgresWhenRedisLosesItsCounter(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	calls := 0
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))
	if err := b.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if got := b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)); got != "held" {
		t.Errorf("after Redis lost the counter = %s, want held: the 2 counted runs are in Postgres", got)
	}
	srv := redistest.StartServer(t)
	away := *a
	away.Quota = &entitlement.Quota{Redis: redistest.Client(t, srv.URL())}
	srv.Stop()
	if got := b.admit(t, &away, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)); got != "quota_exhausted" {
		t.Errorf("with Redis away = %s, want quota_exhausted, counted in Postgres", got)
	}
}

// The plan is the tenant's: read through q, unless the caller has its name.
func TestThePlanIsReadUnlessTheCallerNamesIt(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	calls := 0
	for i := range 4 {
		if got := b.admit(t, a, entitlement.Request{Plan: "big"}, b.insert(t, uuid.Nil, &calls)); got != "queued" {
			t.Fatalf("run %d on the big plan = %s, want queued", i+1, got)
		}
	}
	if n, err := b.rdb.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("Redis keys after runs on an unlimited plan = %d (%v), want none: nothing is counted", n, err)
	}
	// Read from the tenant row (free, which this catalogue resolves to its
	// default, small): the record counts every run stored, whatever the
	// plan, so the counter rebuilt from it starts at 4.
	got := []string{b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)),
		b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))}
	if want := []string{"held", "quota_exhausted"}; !slices.Equal(got, want) {
		t.Errorf("runs on the tenant's own plan = %v, want %v", got, want)
	}
}

// A nil Admitter admits every run: the packages whose tests run without
// plans.
func TestANilAdmitterAdmitsEveryRun(t *testing.T) {
	t.Parallel()
	var a *entitlement.Admitter
	held := true
	adm, err := a.Admit(context.Background(), nil, entitlement.Request{TenantID: uuid.New()}, func(h bool) (bool, error) { held = h; return false, nil })
	if err != nil || adm.Held || held {
		t.Errorf("nil Admitter = %+v, %v (stored held: %v); want admitted, stored as queued", adm, err, held)
	}
}

// Room is what the quota leaves for held runs; Released drops the counter,
// so the runs the release counted in Postgres are counted next time.
func TestRoomAndReleasedFollowTheRecord(t *testing.T) {
	t.Parallel()
	a, b := setupAdmitter(t)
	ctx := context.Background()
	calls := 0
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls))
	b.admit(t, a, entitlement.Request{}, b.insert(t, uuid.Nil, &calls)) // held
	room, err := a.Room(ctx, b.db.Scoped(b.tenant), "big", b.now)
	if err != nil || room < 1<<20 {
		t.Errorf("Room on an unlimited plan = %d, %v; want plenty", room, err)
	}
	if room, err := a.Room(ctx, b.db.Scoped(b.tenant), "small", b.now); err != nil || room != 0 {
		t.Errorf("Room with the quota used = %d, %v; want 0", room, err)
	}
	// Released: the held run counted in Postgres (as the held release does),
	// and the counter of 2 in Redis dropped.
	if err := b.db.InTenantTx(ctx, b.tenant, func(q postgres.Querier) error {
		_, err := run.ReleaseHeld(ctx, q, b.tenant, 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a.Released(ctx, b.tenant, b.now)
	if n, err := b.rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("Redis keys after Released = %d (%v), want the counter gone", n, err)
	}
	if got := b.admit(t, a, entitlement.Request{Plan: "small"}, b.insert(t, uuid.Nil, &calls)); got != "held" {
		t.Errorf("after the release = %s, want held", got)
	}
	key := "aias:quota:" + b.tenant.String() + ":" + b.now.UTC().Format("200601")
	if n, err := b.rdb.Get(ctx, key).Int(); err != nil || n != 3 {
		t.Errorf("the counter after the release = %d (%v), want 3: rebuilt from the record, the released run counted", n, err)
	}
}
