// Package ratelimit keeps AIAS's public intake standing under abuse.
//
// # GCRA
//
// Limits are enforced with the Generic Cell Rate Algorithm, a token bucket
// expressed as one timestamp per key: the theoretical arrival time (TAT) of
// the next event. With an emission interval T = Period/Rate and a tolerance
// τ = Burst·T, an event at time now is allowed when TAT − τ ≤ now, after
// which TAT becomes max(TAT, now) + T. A key therefore costs one small Redis
// string, and the whole check is one Lua script run atomically by Redis on
// Redis's own clock (github.com/go-redis/redis_rate/v10), so every ingress
// replica shares a single budget per key regardless of clock skew between
// the replicas. Remaining is how many events could still pass right now;
// RetryAfter is how long until the next one would; ResetAfter is how long
// until the bucket is full again.
//
// Redis keys are "rate:" + Options.Prefix + key: redis_rate always prepends
// "rate:" itself.
//
// # Fail-open rule
//
// Rate limiting is the only check in AIAS that fails open. Every other
// dependency failure (Postgres, the queue, authentication) refuses the
// request, but refusing intake because the limiter's store is down would turn
// a Redis outage into a full outage. So when a Redis call errors or does not
// answer within Options.Timeout (default 50ms), Allow decides with an
// in-process token bucket per key (golang.org/x/time/rate) and marks the
// Decision Degraded. Protection remains, but per process: with N replicas the
// effective budget during an outage is up to N times the shared one, and the
// local buckets start full because they do not mirror Redis's state.
//
// The local buckets live in a map bounded by Options.LocalKeys (default
// 10,000); when it is full the least recently used key is evicted, so a flood
// of distinct keys costs bounded memory (an evicted key starts again with a
// full bucket).
//
// After a Redis failure the Limiter decides locally for Options.Cooldown
// (default 1s) before trying Redis again, so an unreachable Redis costs one
// timeout per cooldown rather than one per request. The fallback is logged as
// a warning at most once per Options.LogEvery (default 10s), with the number
// of failures since the previous warning. Allow never returns an error.
package ratelimit
