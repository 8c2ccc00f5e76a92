package ratelimit

import (
	"fmt"
	"strconv"
	"time"

	"aias/internal/errs"
)

// Decision is the outcome of one Allow.
type Decision struct {
	Allowed    bool
	Limit      Limit         // the limit enforced (Period and Burst normalized)
	Remaining  int           // events that could still pass right now
	RetryAfter time.Duration // when !Allowed: how long until one event is allowed
	ResetAfter time.Duration // until the bucket is full again
	Degraded   bool          // decided by the in-process fallback because Redis failed
}

// Headers returns the IETF RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers): RateLimit-Limit (the burst, i.e.
// the most events a full bucket admits), RateLimit-Remaining,
// RateLimit-Reset (seconds until the bucket is full, rounded up) and, when
// the event was denied, Retry-After (seconds, rounded up, at least 1).
// An unlimited decision has no headers (an empty map).
func (d Decision) Headers() map[string]string {
	h := map[string]string{}
	if d.Limit.Zero() {
		return h
	}
	h["RateLimit-Limit"] = strconv.Itoa(d.Limit.Burst)
	h["RateLimit-Remaining"] = strconv.Itoa(max(d.Remaining, 0))
	h["RateLimit-Reset"] = strconv.FormatInt(ceilSeconds(d.ResetAfter), 10)
	if !d.Allowed {
		h["Retry-After"] = strconv.FormatInt(d.retryAfterSeconds(), 10)
	}
	return h
}

// Err is nil when the event was allowed, otherwise an errs.RateLimited error
// (code "rate_limited") whose message says when to retry. Callers still set
// Headers() on the response: the error carries no header.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	msg := fmt.Sprintf("rate limit exceeded; retry in %d s", d.retryAfterSeconds())
	return errs.E(errs.RateLimited, "rate_limited", msg)
}

func (d Decision) retryAfterSeconds() int64 { return max(ceilSeconds(d.RetryAfter), 1) }

// ceilSeconds rounds d up to whole seconds; negative durations count as 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
