package ratelimit

import (
	"container/list"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// localStore holds one in-process token bucket per key, at most max of them.
// When full it evicts the least recently used key.
type localStore struct {
	mu  sync.Mutex
	max int
	lru *list.List // of *localEntry, most recently used at the front
	m   map[string]*list.Element
}

type localEntry struct {
	key string
	lim Limit
	tb  *rate.Limiter
}

func newLocalStore(max int) *localStore {
	return &localStore{max: max, lru: list.New(), m: make(map[string]*list.Element, min(max, 1024))}
}

// allow spends one event from key's local bucket.
func (s *localStore) allow(key string, lim Limit, now time.Time) Decision {
	tb := s.bucket(key, lim, now)
	ok := tb.AllowN(now, 1)
	return localDecision(ok, tb.TokensAt(now), lim)
}

// bucket returns key's bucket, creating it (and evicting if full) or
// adjusting it to lim if the limit for the key changed.
func (s *localStore) bucket(key string, lim Limit, now time.Time) *rate.Limiter {
	r, b := lim.tokenBucket()
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.m[key]; ok {
		s.lru.MoveToFront(el)
		e := el.Value.(*localEntry)
		if e.lim != lim {
			e.lim = lim
			e.tb.SetLimitAt(now, r)
			e.tb.SetBurstAt(now, b)
		}
		return e.tb
	}
	if s.lru.Len() >= s.max {
		s.evictOldest()
	}
	e := &localEntry{key: key, lim: lim, tb: rate.NewLimiter(r, b)}
	s.m[key] = s.lru.PushFront(e)
	return e.tb
}

func (s *localStore) evictOldest() {
	el := s.lru.Back()
	if el == nil {
		return
	}
	s.lru.Remove(el)
	delete(s.m, el.Value.(*localEntry).key)
}

func (s *localStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// localDecision describes a token-bucket outcome in GCRA terms, given the
// tokens left after the attempt.
func localDecision(allowed bool, tokens float64, lim Limit) Decision {
	perSec := lim.perSecond()
	d := Decision{
		Allowed:    allowed,
		Limit:      lim,
		Remaining:  max(int(math.Floor(tokens)), 0),
		ResetAfter: seconds((float64(lim.Burst) - tokens) / perSec),
		Degraded:   true,
	}
	if !allowed {
		d.RetryAfter = seconds((1 - tokens) / perSec)
	}
	return d
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
