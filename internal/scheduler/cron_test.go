package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/entitlement"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/run"
	"aias/internal/scheduler"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/workflow"
)

// clock is the fake time cron ticks are read on; leases keep real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type cronBundle struct {
	db     *pgtest.DB
	queue  *queue.Client
	insp   *asynq.Inspector
	admit  *entitlement.Admitter
	clock  *clock
	tenant uuid.UUID
	wf     workflow.Workflow
	first  time.Time // the workflow's first tick, as set when it was saved
}

// setupCron stores a workflow with schedule s and returns what cron tests need.
func setupCron(t *testing.T, s workflow.Schedule, plans *plan.Catalog) cronBundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	url := redistest.New(t)
	opt, err := queue.RedisOpt(url)
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewClient(opt)
	t.Cleanup(func() { _ = q.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = insp.Close() })
	rdb := redistest.Client(t, url)
	if plans == nil {
		plans = plan.Default()
	}
	ten, err := tenant.Create(ctx, db.DB, "ops@example.com", "ops")
	if err != nil {
		t.Fatal(err)
	}
	def := workflow.Definition{Name: "nightly", Schedule: &s,
		Steps: []workflow.Step{{Name: "a", Type: "transform", With: map[string]any{"output": "trigger.body"}}}}
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	b := cronBundle{db: db, queue: q, insp: insp, clock: &clock{t: time.Now()}, tenant: ten.TenantID,
		admit: entitlement.NewAdmitter(plans, rdb)}
	b.inTx(t, func(tx postgres.Querier) (err error) {
		if b.wf, err = workflow.Create(ctx, tx, ten.TenantID, def); err != nil {
			return err
		}
		return tx.GetContext(ctx, &b.first, `SELECT schedule_next_at FROM workflows WHERE id = $1`, b.wf.ID)
	})
	return b
}

func (b cronBundle) inTx(t *testing.T, fn func(q postgres.Querier) error) {
	t.Helper()
	if err := b.db.InTenantTx(context.Background(), b.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// cron builds a ticker on its own connection pool, as another replica would have.
func (b cronBundle) cron(t *testing.T, holder string, o scheduler.CronOptions) (*scheduler.Cron, *postgres.DB) {
	t.Helper()
	pool, err := postgres.Open(context.Background(), b.db.AppURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	o.Holder, o.Now, o.Log, o.Admitter = holder, b.clock.Now, logging.Nop(), b.admit
	if o.Interval == 0 {
		o.Interval = 10 * time.Millisecond
	}
	return scheduler.NewCron(pool, b.queue, o), pool
}

// lead makes c the leader without its Run loop, for tests that tick by hand.
func lead(t *testing.T, c *scheduler.Cron) {
	t.Helper()
	if !acquire(t, c.Lease()) {
		t.Fatal("the cron lease is taken")
	}
}

func tick(t *testing.T, c *scheduler.Cron) scheduler.TickResult {
	t.Helper()
	res, err := c.Tick(context.Background())
	if err != nil {
		t.Fatalf("Tick = %+v, %v", res, err)
	}
	return res
}

// running starts c.Run and returns its cancel; cleanup waits for it to end.
func running(t *testing.T, c *scheduler.Cron) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	return cancel
}

type storedRun struct {
	ID          uuid.UUID  `db:"id"`
	TriggerKind string     `db:"trigger_kind"`
	Status      run.Status `db:"status"`
	Body        []byte     `db:"body"`
}

func (b cronBundle) runs(t *testing.T) []storedRun {
	t.Helper()
	var rs []storedRun
	b.inTx(t, func(q postgres.Querier) error {
		return q.SelectContext(context.Background(), &rs, `SELECT id, trigger_kind, status, body FROM runs ORDER BY created_at, id`)
	})
	return rs
}

func (b cronBundle) nextTick(t *testing.T) *time.Time {
	t.Helper()
	var next *time.Time
	b.inTx(t, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &next, `SELECT schedule_next_at FROM workflows WHERE id = $1`, b.wf.ID)
	})
	return next
}

// wantRuns checks that the runs are exactly those of the given ticks.
func (b cronBundle) wantRuns(t *testing.T, ticks ...time.Time) {
	t.Helper()
	got := map[uuid.UUID]bool{}
	for _, r := range b.runs(t) {
		if got[r.ID] || r.TriggerKind != run.TriggerSchedule {
			t.Errorf("run %s: duplicate or of kind %q", r.ID, r.TriggerKind)
		}
		got[r.ID] = true
	}
	for _, tk := range ticks {
		if !got[scheduler.TickRunID(b.wf.ID, tk)] {
			t.Errorf("no run for the tick at %s", tk.UTC().Format(time.RFC3339))
		}
	}
	if len(got) != len(ticks) {
		t.Errorf("%d runs, want %d (one per tick)", len(got), len(ticks))
	}
}

func (b cronBundle) waitRuns(t *testing.T, n int) {
	t.Helper()
	eventually(t, 5*time.Second, "runs appear", func() bool { return len(b.runs(t)) >= n })
}

func TestTwoSchedulersStartExactlyOneRunPerTick(t *testing.T) {
	t.Parallel()
	b := setupCron(t, workflow.Schedule{Cron: "* * * * *"}, nil)
	a, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Second})
	c, _ := b.cron(t, "c", scheduler.CronOptions{LeaseTTL: time.Second})
	running(t, a)
	running(t, c)
	var ticks []time.Time
	for i := range 3 {
		tk := b.first.Add(time.Duration(i) * time.Minute)
		ticks = append(ticks, tk)
		b.clock.Set(tk.Add(2 * time.Second))
		b.waitRuns(t, i+1)
	}
	eventually(t, 5*time.Second, "the schedule advances past the third tick", func() bool {
		next := b.nextTick(t)
		return next != nil && next.Equal(b.first.Add(3*time.Minute))
	})
	b.wantRuns(t, ticks...)
	if a.Lease().Held() == c.Lease().Held() {
		t.Errorf("leaders: a=%v c=%v, want exactly one", a.Lease().Held(), c.Lease().Held())
	}
	// A tick's run is enqueued after its transaction commits: the last may
	// reach the queue a moment after the schedule advanced.
	var info *asynq.QueueInfo
	eventually(t, 5*time.Second, "the 3 runs' tasks pending", func() bool {
		info, _ = b.insp.GetQueueInfo(queue.QueueDefault)
		return info != nil && info.Pending >= 3
	})
	if info.Pending != 3 {
		t.Errorf("pending tasks = %d, want the 3 runs' tasks", info.Pending)
	}
}

func TestAKilledLeaderIsReplacedWithinALeasePeriodAndNoTickRepeats(t *testing.T) {
	t.Parallel()
	const ttl = 600 * time.Millisecond
	b := setupCron(t, workflow.Schedule{Cron: "* * * * *"}, nil)
	a, aPool := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: ttl})
	c, cPool := b.cron(t, "c", scheduler.CronOptions{LeaseTTL: ttl})
	cancels := map[*scheduler.Cron]context.CancelFunc{a: running(t, a), c: running(t, c)}
	eventually(t, 5*time.Second, "a leader", func() bool { return a.Lease().Held() || c.Lease().Held() })
	leader, follower, leaderPool := a, c, aPool
	if c.Lease().Held() {
		leader, follower, leaderPool = c, a, cPool
	}
	b.clock.Set(b.first.Add(2 * time.Second))
	b.waitRuns(t, 1)

	// kill -9: the leader's connections die with it, so it cannot release.
	_ = leaderPool.Close()
	cancels[leader]()
	b.clock.Set(b.first.Add(time.Minute + 2*time.Second)) // a tick falls due during the failover
	took := eventually(t, 5*time.Second, "the follower leads", follower.Lease().Held)
	if limit := ttl + ttl/2; took > limit {
		t.Errorf("the follower took over %s after the kill, want within one lease period (%s)", took, ttl)
	}
	b.waitRuns(t, 2)
	b.clock.Set(b.first.Add(2*time.Minute + 2*time.Second))
	b.waitRuns(t, 3)
	b.wantRuns(t, b.first, b.first.Add(time.Minute), b.first.Add(2*time.Minute))
}

func TestACanceledLeaderReleasesItsLease(t *testing.T) {
	t.Parallel()
	b := setupCron(t, workflow.Schedule{Cron: "* * * * *"}, nil)
	a, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Minute})
	c, _ := b.cron(t, "c", scheduler.CronOptions{LeaseTTL: time.Minute})
	stopA := running(t, a)
	eventually(t, 5*time.Second, "a leads", a.Lease().Held)
	running(t, c)
	stopA() // SIGTERM
	// The lease lasts a minute; c gets it at once only because a released it.
	eventually(t, 5*time.Second, "c takes over from a released lease", c.Lease().Held)
}

func TestTickWithoutTheLeaseStartsNothing(t *testing.T) {
	t.Parallel()
	b := setupCron(t, workflow.Schedule{Cron: "* * * * *"}, nil)
	a, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Hour})
	b.clock.Set(b.first.Add(time.Second))
	if _, err := a.Tick(context.Background()); !errors.Is(err, scheduler.ErrNotLeader) {
		t.Errorf("Tick without the lease = %v, want ErrNotLeader", err)
	}
	lead(t, a)
	// a stalls past its expiry and c takes over: a still trusts its local
	// validity, but the fence in the tick's transaction refuses it.
	if _, err := b.db.ExecContext(context.Background(), `UPDATE scheduler_leases SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	c, _ := b.cron(t, "c", scheduler.CronOptions{LeaseTTL: time.Hour})
	lead(t, c)
	if _, err := a.Tick(context.Background()); !errors.Is(err, scheduler.ErrNotLeader) {
		t.Errorf("Tick by a fenced-off leader = %v, want ErrNotLeader", err)
	}
	b.wantRuns(t)
	tick(t, c)
	b.wantRuns(t, b.first)
}

func TestCatchUpPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy      string
		fired       int
		skipped     int
		missedTicks int // in the catch-up run's trigger
	}{
		{workflow.CatchUpSkip, 0, 11, 0},
		{workflow.CatchUpOnce, 1, 10, 11},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			t.Parallel()
			b := setupCron(t, workflow.Schedule{Cron: "* * * * *", CatchUp: tt.policy}, nil)
			c, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Hour, MissedAfter: 5 * time.Second})
			lead(t, c)
			// No scheduler ran for ten and a half minutes: 11 ticks were missed.
			b.clock.Set(b.first.Add(10*time.Minute + 30*time.Second))
			res := tick(t, c)
			if res.Fired != tt.fired || res.Skipped != tt.skipped {
				t.Errorf("Tick = %+v, want fired %d, skipped %d", res, tt.fired, tt.skipped)
			}
			last := b.first.Add(10 * time.Minute)
			if tt.fired == 1 {
				b.wantRuns(t, last)
				var body struct {
					ScheduledAt time.Time `json:"scheduled_at"`
					Missed      int       `json:"missed"`
				}
				if err := json.Unmarshal(b.runs(t)[0].Body, &body); err != nil || !body.ScheduledAt.Equal(last) || body.Missed != tt.missedTicks {
					t.Errorf("catch-up trigger = %+v (%v), want the latest missed tick %s standing for %d", body, err, last, tt.missedTicks)
				}
			} else {
				b.wantRuns(t)
			}
			if next := b.nextTick(t); next == nil || !next.Equal(last.Add(time.Minute)) {
				t.Errorf("next tick = %v, want %v", next, last.Add(time.Minute))
			}
			// Ticks after the outage run as usual.
			b.clock.Set(last.Add(time.Minute + time.Second))
			if res := tick(t, c); res.Fired != 1 || res.Skipped != 0 {
				t.Errorf("Tick after catching up = %+v, want one run", res)
			}
		})
	}
}

func TestAScheduleAtNineInBerlinFiresAtEightUTCInWinter(t *testing.T) {
	t.Parallel()
	b := setupCron(t, workflow.Schedule{Cron: "0 9 * * *", Timezone: "Europe/Berlin"}, nil)
	day := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	b.inTx(t, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `UPDATE workflows SET schedule_next_at = $2 WHERE id = $1`, b.wf.ID, day)
		return err
	})
	c, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Hour})
	lead(t, c)
	b.clock.Set(time.Date(2025, 1, 15, 7, 59, 59, 0, time.UTC))
	if res := tick(t, c); res.Fired != 0 {
		t.Errorf("Tick at 07:59:59 UTC = %+v, want nothing yet", res)
	}
	eight := time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC)
	b.clock.Set(eight.Add(time.Second))
	if res := tick(t, c); res.Fired != 1 {
		t.Errorf("Tick at 08:00:01 UTC = %+v, want one run", res)
	}
	b.wantRuns(t, eight)
	var body map[string]any
	if err := json.Unmarshal(b.runs(t)[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["scheduled_at"] != "2025-01-15T09:00:00+01:00" || body["schedule"] != "0 9 * * *" {
		t.Errorf("trigger body = %v, want scheduled_at 09:00 Berlin time and the cron expression", body)
	}
	if next := b.nextTick(t); next == nil || !next.Equal(eight.Add(24*time.Hour)) {
		t.Errorf("next tick = %v, want %v", next, eight.Add(24*time.Hour))
	}
}

func TestTicksOfADisabledWorkflowStartNoRun(t *testing.T) {
	t.Parallel()
	b := setupCron(t, workflow.Schedule{Cron: "* * * * *", CatchUp: workflow.CatchUpOnce}, nil)
	b.inTx(t, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `UPDATE workflows SET enabled = false WHERE id = $1`, b.wf.ID)
		return err
	})
	c, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Hour, MissedAfter: 5 * time.Second})
	lead(t, c)
	b.clock.Set(b.first.Add(2*time.Minute + time.Second)) // two missed ticks, one on time
	if res := tick(t, c); res.Fired != 0 || res.Skipped != 3 {
		t.Errorf("Tick = %+v, want 3 ticks skipped", res)
	}
	b.wantRuns(t)
}

func TestScheduledRunsCountAgainstTheMonthlyQuota(t *testing.T) {
	t.Parallel()
	tiny, err := plan.Load([]byte(`{"default":"tiny","plans":[{"name":"tiny","limits":{"runs_per_month":1,"held_runs":1,
		"workflows":10,"webhook_endpoints":10,"steps_per_workflow":10,"max_payload_bytes":65536,
		"artifact_bytes_per_month":1048576,"retention_days":7,"concurrency":5}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := setupCron(t, workflow.Schedule{Cron: "* * * * *"}, tiny)
	c, _ := b.cron(t, "a", scheduler.CronOptions{LeaseTTL: time.Hour, MissedAfter: 10 * time.Minute})
	lead(t, c)
	b.clock.Set(b.first.Add(2*time.Minute + time.Second)) // three ticks, all on time
	if res := tick(t, c); res.Fired != 1 || res.Held != 1 || res.Refused != 1 {
		t.Errorf("Tick = %+v, want one run started, one held, one refused", res)
	}
	b.wantRuns(t, b.first, b.first.Add(time.Minute))
	statuses := map[run.Status]int{}
	for _, r := range b.runs(t) {
		statuses[r.Status]++
	}
	if statuses[run.Queued] != 1 || statuses[run.Held] != 1 {
		t.Errorf("run statuses = %v, want one queued and one held", statuses)
	}
}
