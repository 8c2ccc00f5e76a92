package run

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"aias/internal/plan"
)

// planTTL is how long a worker keeps a tenant's plan. The executor needs the
// plan before it claims a run (for the tenant's concurrency slots) and
// before an artifact step commits (for its artifact bytes); reading it took
// a transaction of its own each time. A plan change reaches a worker's
// limits within this.
const planTTL = time.Second

// maxCachedPlans bounds the cache; past it, the cache starts over.
const maxCachedPlans = 10_000

// planCache is the executor's per-tenant plan cache. The zero value is ready.
type planCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]cachedPlan
}

type cachedPlan struct {
	p  plan.Plan
	at time.Time
}

// get returns the tenant's plan read within planTTL of now, or loads it.
// A failed load is not cached.
func (c *planCache) get(tenantID uuid.UUID, now time.Time, load func() (plan.Plan, error)) (plan.Plan, error) {
	c.mu.Lock()
	e, ok := c.m[tenantID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < planTTL && !now.Before(e.at) {
		return e.p, nil
	}
	p, err := load()
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPlans {
		c.m = map[uuid.UUID]cachedPlan{}
	}
	c.m[tenantID] = cachedPlan{p: p, at: now}
	return p, nil
}
