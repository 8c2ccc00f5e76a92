package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"aias/internal/postgres"
	"aias/internal/scheduler"
	"aias/internal/testutil/pgtest"
)

// eventually polls cond every few milliseconds until it holds or the
// deadline passes, and reports how long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func acquire(t *testing.T, l *scheduler.Lease) bool {
	t.Helper()
	ok, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire(%s) = %v", l.Holder(), err)
	}
	return ok
}

func TestLeaseHasOneHolderAtATime(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a := scheduler.NewLease(db.DB, "cron", "a", time.Minute)
	b := scheduler.NewLease(db.DB, "cron", "b", time.Minute)
	if !acquire(t, a) {
		t.Fatal("Acquire(a) on a free lease = false, want true")
	}
	if acquire(t, b) || b.Held() {
		t.Error("Acquire(b) while a holds the lease = true, want false")
	}
	if !acquire(t, a) || !a.Held() {
		t.Error("renewal by the holder = false, want true")
	}
	other := scheduler.NewLease(db.DB, "other", "b", time.Minute)
	if !acquire(t, other) {
		t.Error("a lease of another name is independent, but Acquire = false")
	}
}

func TestAnExpiredLeasePassesToTheNextHolder(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	const ttl = 300 * time.Millisecond
	a := scheduler.NewLease(db.DB, "cron", "a", ttl)
	b := scheduler.NewLease(db.DB, "cron", "b", ttl)
	if !acquire(t, a) {
		t.Fatal("Acquire(a) = false, want true")
	}
	start := time.Now()
	if acquire(t, b) {
		t.Fatal("Acquire(b) before a's lease expired = true, want false")
	}
	eventually(t, 3*time.Second, "b takes the expired lease", func() bool { return acquire(t, b) })
	if waited := time.Since(start); waited < ttl/2 {
		t.Errorf("b took over after %s, before a's lease of %s could have expired", waited, ttl)
	}
	if a.Held() {
		t.Error("a.Held() after its TTL = true, want false")
	}
	if acquire(t, a) {
		t.Error("Acquire(a) while b holds the lease = true, want false")
	}
}

func TestAReleasedLeaseIsFreeAtOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	a := scheduler.NewLease(db.DB, "cron", "a", time.Hour)
	b := scheduler.NewLease(db.DB, "cron", "b", time.Hour)
	if !acquire(t, a) {
		t.Fatal("Acquire(a) = false, want true")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Held() {
		t.Error("a.Held() after Release = true, want false")
	}
	if !acquire(t, b) {
		t.Fatal("Acquire(b) after a released = false, want true")
	}
	if err := a.Release(ctx); err != nil { // not the holder: nothing happens
		t.Fatal(err)
	}
	if acquire(t, a) {
		t.Error("a's Release removed b's lease")
	}
}

func TestFenceRefusesAHolderWhoseLeaseWasTakenOver(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	a := scheduler.NewLease(db.DB, "cron", "a", time.Hour)
	if !acquire(t, a) {
		t.Fatal("Acquire(a) = false, want true")
	}
	fence := func(l *scheduler.Lease) error {
		return db.InTx(ctx, func(q postgres.Querier) error { return l.Fence(ctx, q) })
	}
	if err := fence(a); err != nil {
		t.Fatalf("Fence(a) while holding = %v, want nil", err)
	}
	// a stalls (GC pause, lost network) past its expiry; b takes over.
	if _, err := db.ExecContext(ctx, `UPDATE scheduler_leases SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	b := scheduler.NewLease(db.DB, "cron", "b", time.Hour)
	if !acquire(t, b) {
		t.Fatal("Acquire(b) of an expired lease = false, want true")
	}
	if !a.Held() {
		t.Fatal("a no longer trusts its local validity; the test proves nothing")
	}
	if err := fence(a); !errors.Is(err, scheduler.ErrNotLeader) {
		t.Errorf("Fence(a) after b took over = %v, want ErrNotLeader", err)
	}
}
