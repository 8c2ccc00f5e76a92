package entitlement

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"aias/internal/testutil/redistest"
	"aias/internal/testutil/tcpproxy"
)

// record is the tenant's runs counted in Postgres, as CountedSince reads
// them; it counts the reads.
type record struct {
	mu    sync.Mutex
	n     int64
	reads int
}

func (r *record) GetContext(_ context.Context, dest any, query string, _ ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !strings.Contains(query, "counted_at") {
		panic("unexpected query: " + query)
	}
	r.reads++
	*dest.(*int64) = r.n
	return nil
}

func (r *record) set(n int64) { r.mu.Lock(); r.n = n; r.mu.Unlock() }

func (r *record) readsSoFar() int { r.mu.Lock(); defer r.mu.Unlock(); return r.reads }

// quotaOver is a Quota counting in rdb, its clock at *now.
func quotaOver(rdb redis.UniversalClient, now *time.Time) *Quota {
	qu := &Quota{Redis: rdb}
	qu.local.now = func() time.Time { return *now }
	return qu
}

// With Redis away, the quota counts in process: the record is read once
// per tenant, not at every delivery (a count over the tenant's month in
// Postgres each time), again only after localReseed, and a count given
// back is taken back.
func TestWithRedisAwayTheQuotaReadsTheRecordOncePerTenant(t *testing.T) {
	t.Parallel()
	ctx, now := context.Background(), time.Now()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nothing listens
	defer func() { _ = rdb.Close() }()
	qu := quotaOver(rdb, &now)
	rec, tenant, start := &record{n: 2}, uuid.New(), PeriodStart(now)
	for i := range 5 {
		n, undo, err := qu.count(ctx, rec, tenant, start)
		if err != nil || n != int64(3+i) {
			t.Fatalf("count %d with Redis away = %d, %v; want %d", i+1, n, err, 3+i)
		}
		if i == 4 {
			undo()
		}
	}
	if rec.readsSoFar() != 1 {
		t.Errorf("reads of the record for 5 counts with Redis away = %d, want 1", rec.readsSoFar())
	}
	if n, _, _ := qu.count(ctx, rec, tenant, start); n != 7 {
		t.Errorf("count after an undo = %d, want 7 (the undone one taken back)", n)
	}
	now = now.Add(localReseed)
	rec.set(10) // other replicas' runs
	if n, _, err := qu.count(ctx, rec, tenant, start); err != nil || n != 11 || rec.readsSoFar() != 2 {
		t.Errorf("count after localReseed = %d, %v after %d reads; want 11 from a second read of the record", n, err, rec.readsSoFar())
	}
	other := uuid.New()
	if n, _, err := qu.count(ctx, rec, other, start); err != nil || n != 11 || rec.readsSoFar() != 3 {
		t.Errorf("another tenant's first count = %d, %v after %d reads; want its own read", n, err, rec.readsSoFar())
	}
}

// When Redis comes back (after redisCooldown), the counter there, which
// missed what this process counted meanwhile, is rebuilt from the record.
func TestWhenRedisComesBackItsCounterIsRebuiltFromTheRecord(t *testing.T) {
	t.Parallel()
	ctx, now := context.Background(), time.Now()
	proxy := tcpproxy.New(t, strings.TrimPrefix(strings.TrimSuffix(redistest.BaseURL(), "/0"), "redis://"))
	opt, err := redis.ParseURL(redistest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.Addr, opt.MaxRetries = proxy.Addr(), -1
	rdb := redis.NewClient(opt)
	defer func() { _ = rdb.Close() }()
	qu := quotaOver(rdb, &now)
	rec, tenant, start := &record{n: 2}, uuid.New(), PeriodStart(now)
	if n, _, err := qu.count(ctx, rec, tenant, start); err != nil || n != 3 {
		t.Fatalf("count through Redis = %d, %v; want 3", n, err)
	}
	proxy.Stop()
	rec.set(3) // the run counted above committed
	if n, _, err := qu.count(ctx, rec, tenant, start); err != nil || n != 4 {
		t.Fatalf("count with Redis away = %d, %v; want 4", n, err)
	}
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	rec.set(4)
	if n, _, err := qu.count(ctx, rec, tenant, start); err != nil || n != 5 {
		t.Fatalf("count within the cooldown = %d, %v; want 5, still in process", n, err)
	}
	now = now.Add(redisCooldown)
	rec.set(5)
	if n, _, err := qu.count(ctx, rec, tenant, start); err != nil || n != 6 {
		t.Errorf("count once Redis is back = %d, %v; want 6: the Redis counter, which missed the addition counted in process, rebuilt from the record (5) plus this one", n, err)
	}
	if n, _, err := qu.count(ctx, rec, tenant, start); err != nil || n != 7 {
		t.Errorf("next count = %d, %v; want 7 from Redis", n, err)
	}
}
