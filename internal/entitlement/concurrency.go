package entitlement

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Slots limits how many runs of one tenant execute at once, across every
// worker: a sorted set per tenant in Redis whose members are run ids scored
// by a lease expiry. A worker that dies holds its slot only until the lease
// runs out; a run refreshes its lease as it goes. If Redis is unreachable
// the run is let through: fairness degrades, nothing is lost or stuck.
type Slots struct {
	Redis  redis.UniversalClient
	Lease  time.Duration // default 2 minutes
	Prefix string        // default "aias:slots:"
}

// acquire drops expired leases, then refreshes the run's slot or takes a
// free one. It answers 2 (the run held a slot: refreshed), 1 (it took a
// free one) or 0 (the tenant is at its limit).
//
//	KEYS[1]  the tenant's sorted set: run id → lease expiry (ms)
//	ARGV[1]  now (Unix ms): leases scored at or before it have expired
//	ARGV[2]  the run's new lease expiry (Unix ms), its score
//	ARGV[3]  the tenant's limit of runs executing at once
//	ARGV[4]  the run id, the member
//	ARGV[5]  the set's time to live (ms), twice the lease, renewed when a
//	         run takes a slot (not when one refreshes its own): the key of
//	         a tenant whose runs stopped goes away after their leases ended
var acquire = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  return 2
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
`)

// Hold is what Acquire found for a run.
type Hold int

const (
	// Full: the tenant is at its limit; the run holds no slot.
	Full Hold = iota
	// Taken: the run took a free slot (or the limit does not apply).
	Taken
	// Refreshed: the run already held a slot, whose lease was renewed. A
	// delivery that finds its run's slot held did not take it: the slot is
	// another delivery's of the same run (a redelivery while the first
	// still runs) until this one claims the run.
	Refreshed
)

// Acquire takes (or refreshes) a slot for the run if the tenant has fewer
// than limit runs executing. limit < 1 means unlimited.
func (s *Slots) Acquire(ctx context.Context, tenantID, runID uuid.UUID, limit int) Hold {
	if limit < 1 || s == nil || s.Redis == nil {
		return Taken
	}
	lease := s.lease()
	now := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	h, err := acquire.Run(ctx, s.Redis, []string{s.key(tenantID)},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit, runID.String(), (2 * lease).Milliseconds()).Int()
	if err != nil {
		return Taken // fail open: see the type's comment
	}
	return Hold(h)
}

// Release gives the run's slot back.
func (s *Slots) Release(ctx context.Context, tenantID, runID uuid.UUID) {
	if s == nil || s.Redis == nil {
		return
	}
	_ = s.Redis.ZRem(context.WithoutCancel(ctx), s.key(tenantID), runID.String()).Err()
}

// RefreshDue says whether a slot taken or refreshed at last should be
// refreshed now: once a quarter of its lease has gone. A run of many quick
// steps refreshes its slot every half minute (by default), not at every
// step; a long step's heartbeat refreshes it meanwhile.
func (s *Slots) RefreshDue(last, now time.Time) bool {
	if s == nil || s.Redis == nil {
		return false
	}
	return now.Sub(last) >= s.lease()/4
}

func (s *Slots) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return 2 * time.Minute
}

func (s *Slots) key(tenantID uuid.UUID) string {
	if s.Prefix != "" {
		return s.Prefix + tenantID.String()
	}
	return "aias:slots:" + tenantID.String()
}
