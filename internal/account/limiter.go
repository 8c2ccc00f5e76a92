package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"aias/internal/errs"
	"aias/internal/ratelimit"
)

// Sign-in budgets. Every attempt spends one event, successful or not, so
// the budget is checked before any password work. Per account it is small
// (ten attempts, then one every ninety seconds): enough for a person who
// mistypes, too little to guess. Per IP it is larger, for offices behind
// one address, and stops one source from trying many accounts.
var (
	DefaultPerAccount = ratelimit.Limit{Rate: 10, Burst: 10, Period: 15 * time.Minute}
	DefaultPerIP      = ratelimit.Limit{Rate: 60, Burst: 30, Period: 15 * time.Minute}
)

// Limiter limits sign-in attempts per account and per client IP with the
// shared GCRA limiter (internal/ratelimit: Redis, failing open to
// per-process buckets). Redis keys name a hash of the email, never the
// email; IPv6 clients are limited by their /64, which one host usually has
// whole.
type Limiter struct {
	rl         *ratelimit.Limiter
	perAccount ratelimit.Limit
	perIP      ratelimit.Limit
}

// RedisTimeout is how long the limiter rl given to NewLimiter should wait
// for Redis (ratelimit.Options.Timeout) before deciding in-process. The
// intake's 50 ms suits a hot path; sign-in is not one, and a busy Redis
// that answers in 60 ms must not hand an attacker fresh per-process budgets.
const RedisTimeout = time.Second

// NewLimiter limits with rl; a zero Limit takes the default above.
func NewLimiter(rl *ratelimit.Limiter, perAccount, perIP ratelimit.Limit) *Limiter {
	if perAccount.Zero() {
		perAccount = DefaultPerAccount
	}
	if perIP.Zero() {
		perIP = DefaultPerIP
	}
	return &Limiter{rl: rl, perAccount: perAccount, perIP: perIP}
}

// Allow spends one attempt of ip's budget, then (only if that passed) one
// of email's. The error is errs.RateLimited with RetryAfter set.
func (l *Limiter) Allow(ctx context.Context, email, ip string) error {
	if err := l.AllowIP(ctx, ip); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(normalizeEmail(email)))
	return limited(l.rl.Allow(ctx, "login:account:"+hex.EncodeToString(sum[:16]), l.perAccount))
}

// DefaultResetsPerEmail is how many reset links one email is sent an hour:
// enough for a person whose mail is slow, too few to flood their inbox.
var DefaultResetsPerEmail = ratelimit.Limit{Rate: 3, Burst: 3, Period: time.Hour}

// AllowReset spends one of email's reset emails (DefaultResetsPerEmail),
// a budget of its own: asking for links must not use up the person's
// sign-in attempts.
func (l *Limiter) AllowReset(ctx context.Context, email string) error {
	sum := sha256.Sum256([]byte(normalizeEmail(email)))
	return limited(l.rl.Allow(ctx, "reset:account:"+hex.EncodeToString(sum[:16]), DefaultResetsPerEmail))
}

// AllowIP spends one attempt of ip's budget: for what a client can try
// without naming an account (signup, asking for a reset link).
func (l *Limiter) AllowIP(ctx context.Context, ip string) error {
	return limited(l.rl.Allow(ctx, "login:ip:"+ipKey(ip), l.perIP))
}

func limited(d ratelimit.Decision) error {
	if d.Allowed {
		return nil
	}
	secs := max(int64((d.RetryAfter+time.Second-1)/time.Second), 1)
	return &errs.Error{Kind: errs.RateLimited, Code: "rate_limited", RetryAfter: d.RetryAfter,
		Message: fmt.Sprintf("too many sign-in attempts; retry in %d s", secs)}
}

// ipKey is the address an attempt is counted against: an IPv4 address, the
// /64 of an IPv6 one, or the text as given when it does not parse.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return clip(ip, 64)
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
