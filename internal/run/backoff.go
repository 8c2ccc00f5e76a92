package run

import (
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with jitter: the n-th retry waits a random
// time in [d/2, d] where d = min(Base·2ⁿ, Max). Jitter spreads the retries of
// runs that failed together (one downstream outage) over time.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// ceiling is d for retry n (0-based).
func (b Backoff) ceiling(n int) time.Duration {
	d := b.Base
	for range n {
		d *= 2
		if d >= b.Max || d <= 0 {
			return b.Max
		}
	}
	return min(d, b.Max)
}

// Delay is the wait before retry n (0-based: n = retries done so far).
func (b Backoff) Delay(n int) time.Duration {
	d := b.ceiling(n)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1) //nolint:gosec // jitter needs spread, not secrecy
}
