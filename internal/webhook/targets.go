package webhook

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// targetCache keeps resolved endpoints for a short time. A sender that
// delivers in bursts addresses the same endpoint again and again; looking it
// up each time was a Postgres round trip and a four-table join per delivery.
//
// Only found endpoints are kept: an unknown token is looked up every time,
// so an endpoint created a moment ago resolves at once. A change to an
// endpoint, its workflow, its secrets or its tenant's plan reaches the
// intake of this process at once (the API forgets the tenant's entries,
// see Intake.Forget) and other ingress processes within the TTL.
// The zero value is ready.
type targetCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]map[[32]byte]cachedTarget // by tenant, so forget is one delete
	n  int                                     // entries in all
}

type targetKey struct {
	tenant uuid.UUID
	token  [32]byte // SHA-256 of the URL token: the token itself is not kept
}

type cachedTarget struct {
	t  Target
	at time.Time
}

// maxCachedTargets bounds the cache; past it, the cache starts over.
const maxCachedTargets = 10_000

func (c *targetCache) get(k targetKey, now time.Time, ttl time.Duration) (Target, bool) {
	if ttl <= 0 {
		return Target{}, false
	}
	c.mu.Lock()
	e, ok := c.m[k.tenant][k.token]
	c.mu.Unlock()
	if !ok || now.Before(e.at) || now.Sub(e.at) >= ttl {
		return Target{}, false
	}
	return e.t, true
}

func (c *targetCache) put(k targetKey, t Target, now time.Time, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.n >= maxCachedTargets {
		c.m, c.n = map[uuid.UUID]map[[32]byte]cachedTarget{}, 0
	}
	byToken := c.m[k.tenant]
	if byToken == nil {
		byToken = map[[32]byte]cachedTarget{}
		c.m[k.tenant] = byToken
	}
	if _, ok := byToken[k.token]; !ok {
		c.n++
	}
	byToken[k.token] = cachedTarget{t: t, at: now}
}

// forget drops the tenant's entries; uuid.Nil drops every entry.
func (c *targetCache) forget(tenant uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tenant == uuid.Nil {
		c.m, c.n = nil, 0
		return
	}
	c.n -= len(c.m[tenant])
	delete(c.m, tenant)
}
