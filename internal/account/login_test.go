package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/tenant"
)

func TestSignupCreatesAnOwnerWhoCanSignInAgain(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	in := signup(t, s, "Ada@Example.com ")
	if in.Principal.Role != auth.Owner || in.Principal.Email != "ada@example.com" || in.Token == "" {
		t.Fatalf("Signup = %+v, want an owner sign-in of ada@example.com", in.Principal)
	}
	if got := mustAuth(t, s, in.Token); got.TenantID != in.Principal.TenantID || got.UserID != in.Principal.UserID {
		t.Errorf("Authenticate(signup token) = %+v, want %+v", got, in.Principal)
	}
	again, err := s.Login(ctx, account.Credentials{Email: "ADA@example.com", Password: password, IP: "192.0.2.1", UserAgent: "test"})
	if err != nil || again.Principal.TenantID != in.Principal.TenantID || again.Token == in.Token {
		t.Fatalf("Login = %+v, %v; want a second sign-in to the same tenant", again.Principal, err)
	}
	if n := b.count(t, `SELECT count(*) FROM api_keys WHERE tenant_id = $1`, in.Principal.TenantID); n != 0 {
		t.Errorf("a person's signup minted %d API keys, want none", n)
	}
	if n := b.count(t, `SELECT count(*) FROM user_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, in.Token); n != 1 {
		t.Errorf("sessions stored by the SHA-256 of the token = %d, want 1 (and never the token)", n)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'user.login' AND actor_user_id = $2`,
		in.Principal.TenantID, in.Principal.UserID); n != 2 {
		t.Errorf("user.login audit entries = %d, want 2", n)
	}
}

// An email that has a user already, made by the API's signup or by a
// person, is refused: a signup never gives a password to an existing user.
func TestSignupRefusesAnEmailThatHasAnAccount(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	if _, err := tenant.Create(ctx, b.db.DB, "api@example.com", "api"); err != nil {
		t.Fatal(err)
	}
	signup(t, s, "person@example.com")
	for _, email := range []string{"api@example.com", "PERSON@example.com"} {
		_, err := s.Signup(ctx, account.NewAccount{Email: email, Password: "another-fine-passphrase", TenantName: "x"})
		wantCode(t, "Signup("+email+")", err, "email_taken")
	}
	if n := b.count(t, `SELECT count(*) FROM user_credentials`); n != 1 {
		t.Errorf("passwords stored = %d, want only the person's", n)
	}
}

func TestSignupReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	_, err := s.Signup(context.Background(), account.NewAccount{Email: "not an email", Password: "short", TenantName: " "})
	wantCode(t, "Signup(bad)", err, "validation_failed")
	for _, field := range []string{"email", "password", "tenant_name"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("Signup(bad) = %v, want a problem with %s", err, field)
		}
	}
}

// An unknown email and a wrong password answer the same error, and both
// are recorded; the known user's failure also lands in its tenant's audit
// log.
func TestUnknownEmailAndWrongPasswordAnswerTheSameAndAreRecorded(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	in := signup(t, s, "known@example.com")
	_, errUnknown := s.Login(ctx, account.Credentials{Email: "nobody@example.com", Password: password, IP: "198.51.100.7"})
	_, errWrong := s.Login(ctx, account.Credentials{Email: "known@example.com", Password: "wrong-" + password, IP: "198.51.100.7"})
	if !errors.Is(errUnknown, account.ErrBadCredentials) || !errors.Is(errWrong, account.ErrBadCredentials) {
		t.Fatalf("Login(unknown) = %v, Login(wrong) = %v; want ErrBadCredentials for both", errUnknown, errWrong)
	}
	if errUnknown.Error() != errWrong.Error() {
		t.Errorf("answers differ: %q vs %q", errUnknown, errWrong)
	}
	for reason, email := range map[string]string{"unknown_email": "nobody@example.com", "wrong_password": "known@example.com"} {
		if n := b.count(t, `SELECT count(*) FROM login_failures WHERE email = $1 AND reason = $2 AND ip = '198.51.100.7'`, email, reason); n != 1 {
			t.Errorf("login_failures for %s (%s) = %d, want 1", email, reason, n)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'user.login_failed' AND object_id = $2`,
		in.Principal.TenantID, in.Principal.UserID.String()); n != 1 {
		t.Errorf("user.login_failed audit entries = %d, want 1", n)
	}
}

// A user of two tenants signs in to the one asked for, or to the first
// they joined; a tenant they are not a member of is refused like a wrong
// password.
func TestLoginActsForTheTenantAskedFor(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	a := signup(t, s, "two@example.com")
	other := signup(t, s, "owner-b@example.com")
	inv, err := s.Invite(ctx, other.Principal, "two@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: password}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tenant uuid.UUID
		want   uuid.UUID
		role   auth.Role
	}{{uuid.Nil, a.Principal.TenantID, auth.Owner}, {other.Principal.TenantID, other.Principal.TenantID, auth.Viewer}} {
		in, err := s.Login(ctx, account.Credentials{Email: "two@example.com", Password: password, TenantID: tt.tenant})
		if err != nil || in.Principal.TenantID != tt.want || in.Principal.Role != tt.role {
			t.Errorf("Login(tenant %s) = %+v, %v; want tenant %s as %s", tt.tenant, in.Principal, err, tt.want, tt.role)
		}
	}
	_, err = s.Login(ctx, account.Credentials{Email: "two@example.com", Password: password, TenantID: uuid.New()})
	wantCode(t, "Login(a tenant not joined)", err, "invalid_credentials")
}

func TestLoginUpgradesAHashMadeWithOlderParameters(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	signup(t, s, "upgrade@example.com")
	raised := account.Params{Memory: 2048, Time: 2, Threads: 1}
	s2 := account.New(b.db.DB, account.Options{Params: raised})
	if _, err := s2.Login(context.Background(), account.Credentials{Email: "upgrade@example.com", Password: password}); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := b.owner.GetContext(context.Background(), &hash, `SELECT password_hash FROM user_credentials`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hash, "$m=2048,t=2,p=1$") {
		t.Fatalf("stored hash after a sign-in = %q, want it rehashed with m=2048,t=2,p=1", hash)
	}
	for _, svc := range []*account.Service{s, s2} {
		if _, err := svc.Login(context.Background(), account.Credentials{Email: "upgrade@example.com", Password: password}); err != nil {
			t.Errorf("Login after the upgrade = %v, want success", err)
		}
	}
}

func TestAuthenticateRefusesMalformedAndUnknownTokens(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	in := signup(t, s, "tok@example.com")
	flipped := []byte(in.Token)
	flipped[5] ^= 1
	for _, tok := range []string{"", "x", in.Token + "A", in.Token[:42], string(flipped), strings.Repeat("A", 43), "Bearer " + in.Token} {
		refused(t, s, tok, "presenting "+tok)
	}
}
