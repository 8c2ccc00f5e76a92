package webhook

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestTargetCacheKeepsAnEndpointForItsTTLOnly(t *testing.T) {
	var c targetCache
	k := targetKey{tenant: uuid.New(), token: sha256.Sum256([]byte("tok"))}
	want := Target{TenantID: k.tenant, EndpointID: uuid.New()}
	now := time.Now()
	c.put(k, want, now, time.Second)
	if got, ok := c.get(k, now.Add(999*time.Millisecond), time.Second); !ok || got.EndpointID != want.EndpointID {
		t.Fatalf("get within the TTL = %v, %v; want the endpoint", got.EndpointID, ok)
	}
	if _, ok := c.get(k, now.Add(time.Second), time.Second); ok {
		t.Error("get at the TTL found the endpoint, want it expired")
	}
	if _, ok := c.get(k, now.Add(-time.Millisecond), time.Second); ok {
		t.Error("get before the entry was written (clock stepped back) found it, want a lookup")
	}
	if _, ok := c.get(targetKey{tenant: k.tenant, token: sha256.Sum256([]byte("other"))}, now, time.Second); ok {
		t.Error("another token of the same tenant found the endpoint")
	}
}

func TestTargetCacheWithoutTTLKeepsNothing(t *testing.T) {
	var c targetCache
	k := targetKey{tenant: uuid.New()}
	c.put(k, Target{}, time.Now(), 0)
	if _, ok := c.get(k, time.Now(), time.Second); ok {
		t.Error("an entry put with TTL 0 was kept")
	}
}

func TestTargetCacheForgetsOneTenantOrAll(t *testing.T) {
	var c targetCache
	a := targetKey{tenant: uuid.New(), token: sha256.Sum256([]byte("a"))}
	b := targetKey{tenant: uuid.New(), token: sha256.Sum256([]byte("b"))}
	now := time.Now()
	c.put(a, Target{}, now, time.Minute)
	c.put(b, Target{}, now, time.Minute)
	c.forget(a.tenant)
	if _, ok := c.get(a, now, time.Minute); ok {
		t.Error("the forgotten tenant's endpoint is still kept")
	}
	if _, ok := c.get(b, now, time.Minute); !ok {
		t.Error("forgetting one tenant dropped another's endpoint")
	}
	c.forget(uuid.Nil)
	if _, ok := c.get(b, now, time.Minute); ok {
		t.Error("forget(uuid.Nil) kept an endpoint")
	}
}

func TestTargetCacheStartsOverAtItsBoundCountingWhatForgetDropped(t *testing.T) {
	var c targetCache
	now := time.Now()
	key := func(tenant uuid.UUID, i int) targetKey {
		return targetKey{tenant: tenant, token: sha256.Sum256([]byte{byte(i), byte(i >> 8)})}
	}
	gone, kept := uuid.New(), uuid.New()
	for i := range maxCachedTargets / 2 {
		c.put(key(gone, i), Target{}, now, time.Minute)
		if i > 0 {
			c.put(key(kept, i), Target{}, now, time.Minute)
		}
	}
	c.put(key(kept, 1), Target{}, now, time.Minute) // a refresh is no new entry: one short of the bound
	c.put(key(kept, 0), Target{}, now, time.Minute) // the bound, reached
	c.forget(gone)
	c.put(key(uuid.New(), 0), Target{}, now, time.Minute) // half full: no start over
	if _, ok := c.get(key(kept, 0), now, time.Minute); !ok {
		t.Fatal("the cache started over although forget had emptied half of it")
	}
	for i := range maxCachedTargets/2 + 1 {
		c.put(key(gone, i), Target{}, now, time.Minute)
	}
	if _, ok := c.get(key(kept, 0), now, time.Minute); ok {
		t.Error("the cache holds more than its bound: it did not start over")
	}
}
