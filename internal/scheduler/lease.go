package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"aias/internal/postgres"
)

// ErrNotLeader fences a write: the lease this replica relied on is no longer
// its own (expired and taken over, or released).
var ErrNotLeader = errors.New("scheduler: not the lease holder")

// Lease is one named leader lease in Postgres (scheduler_leases). At most one
// holder has it at a time: acquiring succeeds when the lease is free,
// expired, or already ours, and extends it by the TTL. Expiry is decided by
// Postgres's clock, so replicas' clocks do not matter.
//
// Locally the holder trusts the lease for one TTL from the moment it sent
// the last successful renewal (a monotonic clock, never ahead of the
// database's expiry). Writes that must not happen twice also call Fence in
// their own transaction, which holds the lease row so it cannot change hands
// until they commit.
type Lease struct {
	db     *postgres.DB
	name   string
	holder string
	ttl    time.Duration

	mu    sync.Mutex
	until time.Time // local validity; zero: not held
}

// NewLease describes the lease name held as holder for ttl at a time.
func NewLease(db *postgres.DB, name, holder string, ttl time.Duration) *Lease {
	return &Lease{db: db, name: name, holder: holder, ttl: ttl}
}

// Holder is this replica's identity in the lease table.
func (l *Lease) Holder() string { return l.holder }

// Acquire takes the lease or renews it, reporting whether this holder has it.
// A database error reports false with the error; the local validity from
// the last renewal still stands until it runs out.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	sent := time.Now()
	const acquire = `
INSERT INTO scheduler_leases AS l (name, holder, acquired_at, expires_at)
VALUES ($1, $2, now(), now() + $3::interval)
ON CONFLICT (name) DO UPDATE
   SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
       acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END
 WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
RETURNING holder`
	var got string
	err := l.db.GetContext(ctx, &got, acquire, l.name, l.holder, interval(l.ttl))
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case postgres.IsNoRows(err):
		l.until = time.Time{} // someone else holds it: ours is over, whatever we thought
		return false, nil
	case err != nil:
		return l.heldLocked(), fmt.Errorf("acquire lease %s: %w", l.name, postgres.Classify(err))
	}
	l.until = sent.Add(l.ttl)
	return true, nil
}

// Held reports whether this holder may act as leader now.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heldLocked()
}

func (l *Lease) heldLocked() bool { return !l.until.IsZero() && time.Now().Before(l.until) }

// Release gives the lease up at once, so another replica can take over
// without waiting for the TTL. Releasing a lease held by someone else does
// nothing.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	l.until = time.Time{}
	l.mu.Unlock()
	const release = `DELETE FROM scheduler_leases WHERE name = $1 AND holder = $2`
	if _, err := l.db.ExecContext(ctx, release, l.name, l.holder); err != nil {
		return fmt.Errorf("release lease %s: %w", l.name, postgres.Classify(err))
	}
	return nil
}

// Fence checks, inside the caller's transaction, that this holder still has
// an unexpired lease, and holds the lease row (FOR SHARE) until the
// transaction ends, so no other replica can take the lease over before the
// caller's writes commit. It returns ErrNotLeader otherwise.
func (l *Lease) Fence(ctx context.Context, q postgres.Querier) error {
	var holder string
	const fence = `
SELECT holder FROM scheduler_leases
 WHERE name = $1 AND holder = $2 AND expires_at > clock_timestamp()
   FOR SHARE`
	err := q.GetContext(ctx, &holder, fence, l.name, l.holder)
	if postgres.IsNoRows(err) {
		return ErrNotLeader
	}
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.name, postgres.Classify(err))
	}
	return nil
}

// NewHolderID names this process in the lease table: host, pid and a random
// suffix, so a restarted process is a new holder.
func NewHolderID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "scheduler"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// millis renders d as a Postgres interval.
