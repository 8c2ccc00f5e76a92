package account_test

import (
	"context"
	"testing"
	"time"

	"aias/internal/account"
	"aias/internal/auth"
)

// Expiry is Postgres's: tests move the stored times back as the schema
// owner instead of waiting.
func TestSessionEndsAfterTheIdleTimeout(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{IdleTimeout: 12 * time.Hour})
	in := signup(t, s, "idle@example.com")
	b.exec(t, `UPDATE user_sessions SET last_seen_at = now() - interval '11 hours 59 minutes' WHERE id = $1`, in.Principal.SessionID)
	p := mustAuth(t, s, in.Token)
	if time.Since(p.LastSeenAt) > time.Minute {
		t.Errorf("LastSeenAt after a use = %v, want refreshed to now", p.LastSeenAt)
	}
	b.exec(t, `UPDATE user_sessions SET last_seen_at = now() - interval '12 hours 1 second' WHERE id = $1`, in.Principal.SessionID)
	refused(t, s, in.Token, "12 idle hours")
}

func TestSessionEndsAtItsAbsoluteExpiryHoweverBusy(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{AbsoluteTimeout: 7 * 24 * time.Hour})
	in := signup(t, s, "abs@example.com")
	if d := time.Until(in.Principal.ExpiresAt); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Errorf("ExpiresAt in %v, want 7 days", d)
	}
	b.exec(t, `UPDATE user_sessions SET expires_at = now() - interval '1 second', last_seen_at = now() WHERE id = $1`, in.Principal.SessionID)
	refused(t, s, in.Token, "the absolute expiry")
}

func TestLastSeenIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	in := signup(t, s, "seen@example.com")
	b.exec(t, `UPDATE user_sessions SET last_seen_at = now() - interval '30 seconds' WHERE id = $1`, in.Principal.SessionID)
	mustAuth(t, s, in.Token)
	if n := b.count(t, `SELECT count(*) FROM user_sessions WHERE id = $1 AND last_seen_at < now() - interval '29 seconds'`, in.Principal.SessionID); n != 1 {
		t.Errorf("a use 30 s after the last one rewrote last_seen_at, want it left alone")
	}
	b.exec(t, `UPDATE user_sessions SET last_seen_at = now() - interval '61 seconds' WHERE id = $1`, in.Principal.SessionID)
	mustAuth(t, s, in.Token)
	if n := b.count(t, `SELECT count(*) FROM user_sessions WHERE id = $1 AND last_seen_at > now() - interval '5 seconds'`, in.Principal.SessionID); n != 1 {
		t.Errorf("a use 61 s after the last one left last_seen_at, want it refreshed")
	}
}

func TestLogoutEndsOnlyThatSignIn(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	a := signup(t, s, "out@example.com")
	b, err := s.Login(ctx, account.Credentials{Email: "out@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, a.Token); err != nil {
		t.Fatal(err)
	}
	refused(t, s, a.Token, "logout")
	mustAuth(t, s, b.Token)
	if err := s.Logout(ctx, a.Token); err != nil {
		t.Errorf("Logout twice = %v, want nil", err)
	}
	if err := s.Logout(ctx, "garbage"); err != nil {
		t.Errorf("Logout(garbage) = %v, want nil", err)
	}
}

// Logging out everywhere ends every sign-in of the user in every tenant,
// and nobody else's.
func TestLogoutEverywhereEndsEverySignInOfTheUserOnly(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	a := signup(t, s, "every@example.com")
	other := signup(t, s, "other@example.com")
	join(t, s, other.Principal, "every@example.com", auth.Member) // a sign-in to the other tenant
	b, err := s.Login(ctx, account.Credentials{Email: "every@example.com", Password: password, TenantID: other.Principal.TenantID})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.LogoutEverywhere(ctx, a.Token)
	if err != nil || n != 3 {
		t.Fatalf("LogoutEverywhere = %d, %v; want 3 sign-ins ended", n, err)
	}
	refused(t, s, a.Token, "logout everywhere")
	refused(t, s, b.Token, "logout everywhere (other tenant)")
	mustAuth(t, s, other.Token)
	if _, err := s.LogoutEverywhere(ctx, a.Token); err == nil {
		t.Errorf("LogoutEverywhere with an ended sign-in = nil, want ErrUnauthenticated")
	}
}

func TestListSessionsShowsOwnLiveSignInsAndRevokesOne(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	a := signup(t, s, "list@example.com")
	phone, err := s.Login(ctx, account.Credentials{Email: "list@example.com", Password: password, IP: "203.0.113.9", UserAgent: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.Login(ctx, account.Credentials{Email: "list@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	b.exec(t, `UPDATE user_sessions SET expires_at = now() WHERE id = $1`, gone.Principal.SessionID)
	join(t, s, a.Principal, "colleague@example.com", auth.Admin)

	list, err := s.ListSessions(ctx, a.Principal)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %+v, %v; want the two live sign-ins of this user", list, err)
	}
	for _, ss := range list {
		if ss.Current != (ss.ID == a.Principal.SessionID) {
			t.Errorf("session %s current = %v, want true only for the caller's", ss.ID, ss.Current)
		}
		if ss.ID == phone.Principal.SessionID && (ss.IP != "203.0.113.9" || ss.UserAgent != "phone") {
			t.Errorf("phone session = %+v, want its IP and user agent", ss)
		}
	}
	if err := s.RevokeSession(ctx, a.Principal, phone.Principal.SessionID); err != nil {
		t.Fatal(err)
	}
	refused(t, s, phone.Token, "RevokeSession")
	wantCode(t, "RevokeSession(again)", s.RevokeSession(ctx, a.Principal, phone.Principal.SessionID), "not_found")
}

// The role is read from the membership at every request.
func TestARoleChangeOrRemovalTakesEffectAtTheNextRequest(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "boss@example.com")
	staff := join(t, s, owner.Principal, "staff@example.com", auth.Admin)
	if _, err := s.ChangeRole(ctx, owner.Principal, staff.Principal.UserID, auth.Viewer); err != nil {
		t.Fatal(err)
	}
	if p := mustAuth(t, s, staff.Token); p.Role != auth.Viewer {
		t.Errorf("role after demotion = %s, want viewer", p.Role)
	}
	if err := s.RemoveMember(ctx, owner.Principal, staff.Principal.UserID); err != nil {
		t.Fatal(err)
	}
	refused(t, s, staff.Token, "removal from the tenant")
}

// A page's own reloads do not keep a sign-in alive: an unattended use
// leaves last_seen_at, so a tab left open ends at the idle timeout.
func TestAnUnattendedUseDoesNotPutOffTheIdleTimeout(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{IdleTimeout: 12 * time.Hour})
	in := signup(t, s, "tab@example.com")
	b.exec(t, `UPDATE user_sessions SET last_seen_at = now() - interval '11 hours 59 minutes' WHERE id = $1`, in.Principal.SessionID)
	if _, err := s.AuthenticateUnattended(context.Background(), in.Token); err != nil {
		t.Fatalf("AuthenticateUnattended within the idle timeout = %v, want the sign-in", err)
	}
	if n := b.count(t, `SELECT count(*) FROM user_sessions WHERE id = $1 AND last_seen_at < now() - interval '11 hours'`, in.Principal.SessionID); n != 1 {
		t.Error("an unattended use refreshed last_seen_at, want it left alone")
	}
	b.exec(t, `UPDATE user_sessions SET last_seen_at = now() - interval '12 hours 1 second' WHERE id = $1`, in.Principal.SessionID)
	if _, err := s.AuthenticateUnattended(context.Background(), in.Token); err == nil {
		t.Error("AuthenticateUnattended after 12 idle hours = the sign-in, want it ended")
	}
}
