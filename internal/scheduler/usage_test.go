package scheduler_test

import (
	"context"
	"testing"
	"time"

	"aias/internal/entitlement"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/run"
	"aias/internal/scheduler"
	"aias/internal/testutil/redistest"
)

// A monthly run counter in Redis that drifted from the runs Postgres
// counted is dropped (and so rebuilt on the next admission); one that
// matches, or runs a little ahead with admissions in flight, is kept.
func TestReconcileDropsOnlyCountersThatDrifted(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	for range 3 {
		b.insertRun(t, run.Queued, 0) // counted_at = now
	}
	rdb := redistest.Client(t, redistest.New(t))
	quota := &entitlement.Quota{Redis: rdb, Prefix: "test:quota:"}
	sch := scheduler.New(b.db.DB, b.queue, scheduler.Options{Interval: time.Hour, Log: logging.Nop(),
		Admitter: &entitlement.Admitter{Plans: entitlement.Checker{Plans: plan.Default()}, Quota: quota}})
	ctx := context.Background()
	now := time.Now()
	key := "test:quota:" + b.tenant.String() + ":" + now.UTC().Format("200601")

	for value, wantDropped := range map[int]bool{3: false, 4: false, 9: true, 1: true} {
		if err := rdb.Set(ctx, key, value, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		n, err := sch.ReconcileUsage(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		exists, _ := rdb.Exists(ctx, key).Result()
		if (n == 1) != wantDropped || (exists == 0) != wantDropped {
			t.Errorf("counter %d with 3 runs counted: dropped %d, exists %d; want dropped %v", value, n, exists, wantDropped)
		}
	}
}
