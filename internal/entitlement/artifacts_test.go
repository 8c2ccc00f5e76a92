package entitlement_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"aias/internal/entitlement"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

func withLimit(bytes int64) plan.Plan {
	return plan.Plan{Name: "test", Limits: plan.Limits{ArtifactBytesPerMonth: bytes}}
}

func TestArtifactBytesAreCountedUpToThePlanAndGivenBackOnUndo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	meter := &entitlement.ArtifactBytes{Redis: redistest.Client(t, redistest.New(t)), Prefix: "test:bytes:"}
	tenant, now := uuid.New(), time.Now()
	reserve := func(n int64) (func(), bool) {
		t.Helper()
		var undo func()
		var ok bool
		err := db.InTenantTx(ctx, tenant, func(q postgres.Querier) (err error) {
			undo, ok, err = meter.Reserve(ctx, q, tenant, withLimit(100), n, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return undo, ok
	}
	if _, ok := reserve(60); !ok {
		t.Fatal("60 of 100 bytes refused")
	}
	if _, ok := reserve(41); ok {
		t.Fatal("60 + 41 of 100 bytes admitted")
	}
	undo, ok := reserve(40) // the refused 41 were not counted: exactly 100 now
	if !ok {
		t.Fatal("60 + 40 of 100 bytes refused; a refusal must not count its bytes")
	}
	if _, ok := reserve(1); ok {
		t.Fatal("101 of 100 bytes admitted")
	}
	undo() // those 40 did not commit
	if _, ok := reserve(40); !ok {
		t.Fatal("bytes given back by undo are still counted")
	}
}

func TestArtifactBytesWithoutRedisAnswerFromPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	srv := redistest.StartServer(t)
	meter := &entitlement.ArtifactBytes{Redis: redistest.Client(t, srv.URL())}
	srv.Stop()
	tenant := uuid.New()
	err := db.InTenantTx(ctx, tenant, func(q postgres.Querier) error {
		if _, ok, err := meter.Reserve(ctx, q, tenant, withLimit(100), 100, time.Now()); err != nil || !ok {
			t.Errorf("100 of 100 bytes with Redis away = %v, %v; want admitted from Postgres", ok, err)
		}
		if _, ok, err := meter.Reserve(ctx, q, tenant, withLimit(100), 101, time.Now()); err != nil || ok {
			t.Errorf("101 of 100 bytes with Redis away = %v, %v; want refused from Postgres", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnlimitedArtifactBytesTouchNothing(t *testing.T) {
	t.Parallel()
	meter := &entitlement.ArtifactBytes{} // no Redis: using it would panic
	undo, ok, err := meter.Reserve(context.Background(), nil, uuid.New(), withLimit(plan.Unlimited), 1<<40, time.Now())
	if err != nil || !ok {
		t.Fatalf("unlimited plan = %v, %v; want admitted", ok, err)
	}
	undo()
}

// On a Redis Cluster the tenants' counters live on different primaries;
// reconciling walks every one of them, not the node SCAN happens to reach.
func TestReconcileFindsEveryCounterOfARedisCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	url := redistest.StartCluster(t).URL
	opt, err := queue.RedisOpt(url) // what the programs build from REDIS_URL
	if err != nil {
		t.Fatal(err)
	}
	rdb, ok := opt.MakeRedisClient().(*redis.ClusterClient)
	if !ok {
		t.Fatalf("REDIS_URL %s made a %T, want a cluster client", url, opt.MakeRedisClient())
	}
	t.Cleanup(func() { _ = rdb.Close() })
	meter := &entitlement.ArtifactBytes{Redis: rdb, Prefix: "test:bytes:"}
	now := time.Now()
	const tenants = 12
	for range tenants {
		tenant := uuid.New()
		err := db.InTenantTx(ctx, tenant, func(q postgres.Querier) error {
			_, ok, err := meter.Reserve(ctx, q, tenant, withLimit(1<<40), 10, now)
			if err == nil && !ok {
				t.Error("10 bytes refused")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	behind := func(uuid.UUID, time.Time) (int64, error) { return 1 << 30, nil } // every counter is behind the record
	dropped, err := meter.Reconcile(ctx, now, behind)
	if err != nil || dropped != tenants {
		t.Errorf("Reconcile on a cluster dropped %d counters (%v), want all %d", dropped, err, tenants)
	}
}

// The concurrency slots' script runs on a cluster (a failure there would
// fail open and let every run through).
func TestSlotsHoldOnARedisCluster(t *testing.T) {
	t.Parallel()
	slots := &entitlement.Slots{Redis: redistest.StartCluster(t).Client(t)}
	ctx := context.Background()
	for range 4 { // tenants hash to different nodes
		tenant := uuid.New()
		if slots.Acquire(ctx, tenant, uuid.New(), 1) != entitlement.Taken {
			t.Fatal("the first run of a tenant with one slot was refused")
		}
		if slots.Acquire(ctx, tenant, uuid.New(), 1) != entitlement.Full {
			t.Error("a second run took a tenant's only slot on a cluster")
		}
	}
}
