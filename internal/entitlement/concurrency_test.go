package entitlement_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"aias/internal/entitlement"
)

// A run of quick steps refreshes its slot once a quarter of the lease has
// gone, not at every step: one Redis round trip per run instead of one per
// step.
func TestSlotRefreshIsDueAfterAQuarterOfTheLease(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer func() { _ = rdb.Close() }()
	s := &entitlement.Slots{Redis: rdb, Lease: 2 * time.Minute}
	taken := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		after time.Duration
		due   bool
	}{{0, false}, {time.Second, false}, {29 * time.Second, false}, {30 * time.Second, true}, {90 * time.Second, true}} {
		if got := s.RefreshDue(taken, taken.Add(c.after)); got != c.due {
			t.Errorf("%s after the slot was taken: due = %v, want %v", c.after, got, c.due)
		}
	}
	var none *entitlement.Slots
	if none.RefreshDue(taken, taken.Add(time.Hour)) {
		t.Error("no slots (no concurrency limit): nothing is ever due")
	}
}
