package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/account"
	"aias/internal/auth"
)

// The SECURITY DEFINER functions run as the schema owner, past row-level
// security; called as the application role with hostile arguments, they
// give nothing beyond what their contract says.
func TestDefinerFunctionsBoundWhatTheCallerAsksFor(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	in := signup(t, s, "bounded@example.com")
	other := signup(t, s, "elsewhere@example.com")
	var hash string
	if err := b.db.GetContext(ctx, &hash, `SELECT password_hash FROM aias_login_lookup('bounded@example.com')`); err != nil {
		t.Fatal(err)
	}
	create := func(tenant uuid.UUID, pwHash, idle, absolute string) (time.Time, bool) {
		t.Helper()
		var exp []time.Time
		err := b.db.SelectContext(ctx, &exp, `SELECT expires_at FROM aias_session_create($1, $2, $3, $4, '', '', $5::interval, $6::interval, '')`,
			in.Principal.UserID, tenant, pwHash, []byte(uuid.NewString()), idle, absolute)
		if err != nil {
			t.Fatalf("aias_session_create: %v", err)
		}
		if len(exp) == 0 {
			return time.Time{}, false
		}
		return exp[0], true
	}
	if exp, ok := create(in.Principal.TenantID, hash, "100 years", "100 years"); !ok || time.Until(exp) > 91*24*time.Hour {
		t.Errorf("a sign-in asked for 100 years expires %v (made: %v), want at most 90 days", exp, ok)
	}
	if n := b.count(t, `SELECT count(*) FROM user_sessions WHERE idle_timeout > interval '30 days'`); n != 0 {
		t.Errorf("sign-ins with an idle timeout over 30 days = %d, want 0", n)
	}
	if _, ok := create(other.Principal.TenantID, hash, "1 hour", "1 hour"); ok {
		t.Errorf("aias_session_create for a tenant the user is not a member of made a sign-in")
	}
	if _, ok := create(in.Principal.TenantID, hash+"x", "1 hour", "1 hour"); ok {
		t.Errorf("aias_session_create with a hash that is not the user's made a sign-in")
	}

	var user *uuid.UUID
	if err := b.db.GetContext(ctx, &user, `SELECT aias_reset_create('bounded@example.com', $1, interval '10 years')`, []byte("h")); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM password_resets WHERE expires_at > now() + interval '24 hours 1 second'`); n != 0 {
		t.Errorf("reset links living over 24 hours = %d, want 0", n)
	}

	if _, err := b.db.ExecContext(ctx, `SELECT aias_login_failed('bounded@example.com', '', '', $1, '')`, strings.Repeat("r", 10000)); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM login_failures WHERE length(reason) > 64`); n != 0 {
		t.Errorf("failure reasons over 64 characters = %d, want them clipped", n)
	}
}

// An invitation is used only when the existing user's password hash is
// the one the caller verified; otherwise nothing changes.
func TestInviteAcceptRefusesAHashThatIsNotTheUsers(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "door@example.com")
	signup(t, s, "holder@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "holder@example.com", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, inv.Link)
	var rows int
	err = b.db.GetContext(ctx, &rows, `SELECT count(*) FROM aias_invite_accept(sha256(convert_to($1, 'UTF8')), 'forged', 'forged', '')`, tok)
	if err != nil || rows != 0 {
		t.Fatalf("aias_invite_accept with a forged hash = %d rows (%v), want none", rows, err)
	}
	if _, err := s.LookupInvite(ctx, tok); err != nil {
		t.Errorf("the invitation after a refused acceptance: %v, want still pending", err)
	}
	if n := b.count(t, `SELECT count(*) FROM memberships WHERE tenant_id = $1`, owner.Principal.TenantID); n != 1 {
		t.Errorf("members after a refused acceptance = %d, want the owner alone", n)
	}
}
