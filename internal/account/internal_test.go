package account

import (
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"aias/internal/testutil/pgtest"
)

// An unknown email and a wrong password walk the same path: one look-up,
// one argon2id derivation with the current parameters, one recorded
// failure, and the same error. (Speed is not asserted; the work is.)
func TestUnknownEmailAndWrongPasswordDoTheSameWork(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := New(db.DB, Options{Params: Params{Memory: 1024, Time: 1, Threads: 1}, Log: zerolog.Nop()})
	ctx := context.Background()
	if _, err := s.Signup(ctx, NewAccount{Email: "real@example.com", Password: "plum-orchard-41-lantern", TenantName: "r"}); err != nil {
		t.Fatal(err)
	}
	work := func(email string) (int64, error) {
		before := s.hasher.derivations.Load()
		_, err := s.Login(ctx, Credentials{Email: email, Password: "not-the-password-123"})
		return s.hasher.derivations.Load() - before, err
	}
	unknown, errUnknown := work("ghost@example.com")
	wrong, errWrong := work("real@example.com")
	if unknown != 1 || wrong != 1 {
		t.Errorf("argon2id derivations: unknown email %d, wrong password %d; want 1 each", unknown, wrong)
	}
	if !errors.Is(errUnknown, ErrBadCredentials) || !errors.Is(errWrong, ErrBadCredentials) {
		t.Errorf("errors = %v / %v, want ErrBadCredentials both", errUnknown, errWrong)
	}
	if s.hasher.NeedsRehash(s.hasher.dummy) {
		t.Errorf("the dummy hash %q does not use the current parameters", s.hasher.dummy)
	}
}

func TestIPKeyGroupsAnIPv6ClientByItsSlash64(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2::10":     "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"not an ip":            "not an ip",
		"":                     "",
	} {
		if got := ipKey(in); got != want {
			t.Errorf("ipKey(%q) = %q, want %q", in, got, want)
		}
	}
}
