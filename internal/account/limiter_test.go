package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"aias/internal/account"
	"aias/internal/errs"
	"aias/internal/ratelimit"
	"aias/internal/testutil/redistest"
)

// slow refills one attempt an hour, so nothing refills during a test.
func slow(burst int) ratelimit.Limit {
	return ratelimit.Limit{Rate: 1, Burst: burst, Period: time.Hour}
}

func limited(t *testing.T, perAccount, perIP ratelimit.Limit) *account.Limiter {
	t.Helper()
	rdb := redistest.Client(t, redistest.New(t))
	rl := ratelimit.New(rdb, ratelimit.Options{Log: zerolog.Nop(), Timeout: account.RedisTimeout})
	return account.NewLimiter(rl, perAccount, perIP)
}

func TestSignInsTripThePerAccountLimitAfterNFailures(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{Limiter: limited(t, slow(3), slow(100))})
	ctx := context.Background()
	signup(t, s, "target@example.com")
	signup(t, s, "bystander@example.com")
	for i, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} { // a different IP each time
		_, err := s.Login(ctx, account.Credentials{Email: "target@example.com", Password: "guess-number-" + ip, IP: ip})
		if !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("attempt %d = %v, want ErrBadCredentials", i+1, err)
		}
	}
	_, err := s.Login(ctx, account.Credentials{Email: "Target@example.com", Password: password, IP: "192.0.2.4"})
	wantCode(t, "Login after 3 failures (right password, new IP)", err, "rate_limited")
	if e, _ := errs.As(err); e.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want > 0", e.RetryAfter)
	}
	if _, err := s.Login(ctx, account.Credentials{Email: "bystander@example.com", Password: password, IP: "192.0.2.1"}); err != nil {
		t.Errorf("another account from a used IP = %v, want a sign-in", err)
	}
}

func TestSignInsTripThePerIPLimitAcrossAccounts(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{Limiter: limited(t, slow(100), slow(3))})
	ctx := context.Background()
	signup(t, s, "victim@example.com")
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_, err := s.Login(ctx, account.Credentials{Email: email, Password: password, IP: "2001:db8:1:2::10"})
		if !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("Login(%s) = %v, want ErrBadCredentials", email, err)
		}
	}
	// the same /64 is the same client
	_, err := s.Login(ctx, account.Credentials{Email: "victim@example.com", Password: password, IP: "2001:db8:1:2::99"})
	wantCode(t, "Login from the same /64 after 3 attempts", err, "rate_limited")
	if _, err := s.Login(ctx, account.Credentials{Email: "victim@example.com", Password: password, IP: "2001:db8:1:3::10"}); err != nil {
		t.Errorf("Login from another /64 = %v, want a sign-in", err)
	}
}

// A throttled attempt does no password work and is not recorded: the budget
// is spent before either.
func TestAThrottledAttemptRecordsNothing(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{Limiter: limited(t, slow(1), slow(100))})
	ctx := context.Background()
	for range 3 {
		_, _ = s.Login(ctx, account.Credentials{Email: "flood@example.com", Password: password, IP: "192.0.2.7"})
	}
	if n := b.count(t, `SELECT count(*) FROM login_failures`); n != 1 {
		t.Errorf("recorded failures = %d, want 1 (the two throttled attempts are not)", n)
	}
}
