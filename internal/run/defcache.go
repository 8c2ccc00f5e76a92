package run

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/workflow"
)

// defCache keeps the workflow versions runs are pinned to. A version never
// changes once written, so an entry never goes stale; reading and decoding
// it was a statement and a JSON decode in every claim. The zero value is
// ready.
type defCache struct {
	mu sync.Mutex
	m  map[defKey]workflow.Definition
}

type defKey struct {
	tenant, workflow uuid.UUID
	version          int
}

// maxCachedDefs bounds the cache; past it, the cache starts over.
const maxCachedDefs = 10_000

// pinned returns the workflow version the run is pinned to, reading it with
// q (reading as the run's tenant) the first time.
func (c *defCache) pinned(ctx context.Context, q postgres.Getter, r Run) (workflow.Definition, error) {
	k := defKey{tenant: r.TenantID, workflow: r.WorkflowID, version: r.WorkflowVersion}
	c.mu.Lock()
	def, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return def, nil
	}
	def, err := workflow.Pinned(ctx, q, r.WorkflowID, r.WorkflowVersion)
	if err != nil {
		return def, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedDefs {
		c.m = map[defKey]workflow.Definition{}
	}
	c.m[k] = def
	return def, nil
}
