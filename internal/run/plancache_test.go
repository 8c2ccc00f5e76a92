package run

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/plan"
)

func TestPlanCache(t *testing.T) {
	t.Parallel()
	var c planCache
	tenant, other := uuid.New(), uuid.New()
	t0 := time.Unix(1000, 0)
	loads := 0
	load := func(name string) func() (plan.Plan, error) {
		return func() (plan.Plan, error) { loads++; return plan.Plan{Name: name}, nil }
	}
	get := func(id uuid.UUID, at time.Time, name string) string {
		t.Helper()
		p, err := c.get(id, at, load(name))
		if err != nil {
			t.Fatal(err)
		}
		return p.Name
	}
	if got := get(tenant, t0, "pro"); got != "pro" || loads != 1 {
		t.Fatalf("first get = %q after %d loads, want pro after 1", got, loads)
	}
	if got := get(tenant, t0.Add(planTTL-time.Millisecond), "business"); got != "pro" || loads != 1 {
		t.Errorf("get within the TTL = %q after %d loads, want the cached pro after 1", got, loads)
	}
	if got := get(tenant, t0.Add(planTTL), "business"); got != "business" || loads != 2 {
		t.Errorf("get at the TTL = %q after %d loads, want business reloaded", got, loads)
	}
	if got := get(other, t0.Add(planTTL), "free"); got != "free" || loads != 3 {
		t.Errorf("get of another tenant = %q after %d loads, want its own plan", got, loads)
	}
	// A clock that went back does not extend a cached entry.
	if got := get(tenant, t0, "pro"); got != "pro" || loads != 4 {
		t.Errorf("get before the cached time = %q after %d loads, want a reload", got, loads)
	}
	// Failures are not cached.
	boom := errors.New("postgres away")
	if _, err := c.get(uuid.New(), t0, func() (plan.Plan, error) { return plan.Plan{}, boom }); !errors.Is(err, boom) {
		t.Errorf("get with a failing load = %v, want %v", err, boom)
	}
}
