package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/smtptest"
)

// cheap keeps argon2id fast in tests that are not about its cost.
var cheap = account.Params{Memory: 1024, Time: 1, Threads: 1}

// bundle is what a test needs besides the service: the database as the
// application role and as its owner (to move timestamps, read hidden tables).
type bundle struct {
	db    *pgtest.DB
	owner *postgres.DB
}

func setup(t *testing.T, opts account.Options) (*account.Service, bundle) {
	t.Helper()
	db := pgtest.New(t)
	owner, err := postgres.Open(context.Background(), db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Close() })
	if opts.Params == (account.Params{}) {
		opts.Params = cheap
	}
	opts.Log = zerolog.Nop()
	return account.New(db.DB, opts), bundle{db: db, owner: owner}
}

// exec runs SQL as the schema owner, past row-level security.
func (b bundle) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := b.owner.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("owner: %s: %v", query, err)
	}
}

// count runs a count(*) query as the schema owner.
func (b bundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.owner.GetContext(context.Background(), &n, query, args...); err != nil {
		t.Fatalf("owner: %s: %v", query, err)
	}
	return n
}

const password = "plum-orchard-41-lantern"

// signup makes a person with their own tenant and returns their sign-in.
func signup(t *testing.T, s *account.Service, email string) account.SignIn {
	t.Helper()
	in, err := s.Signup(context.Background(), account.NewAccount{Email: email, Password: password, TenantName: "t-" + email})
	if err != nil {
		t.Fatalf("Signup(%s): %v", email, err)
	}
	return in
}

// join invites email into by's tenant with role and accepts as a new user.
func join(t *testing.T, s *account.Service, by account.Principal, email string, role auth.Role) account.SignIn {
	t.Helper()
	ctx := context.Background()
	inv, err := s.Invite(ctx, by, email, role)
	if err != nil {
		t.Fatalf("Invite(%s, %s): %v", email, role, err)
	}
	in, err := s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: password})
	if err != nil {
		t.Fatalf("AcceptInvite(%s): %v", email, err)
	}
	return in
}

// token is the token query parameter of a link.
func token(t *testing.T, link string) string {
	t.Helper()
	_, tok, ok := strings.Cut(link, "?token=")
	if !ok {
		t.Fatalf("link %q has no token", link)
	}
	return tok
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s = %v (code %q), want code %q", what, err, errs.CodeOf(err), code)
	}
}

func mustAuth(t *testing.T, s *account.Service, tok string) account.Principal {
	t.Helper()
	p, err := s.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

func refused(t *testing.T, s *account.Service, tok, why string) {
	t.Helper()
	_, err := s.Authenticate(context.Background(), tok)
	if !errors.Is(err, account.ErrUnauthenticated) {
		t.Fatalf("Authenticate after %s = %v, want ErrUnauthenticated", why, err)
	}
}

// mailer sends through srv.
func mailer(t *testing.T, srv *smtptest.Server) *account.SMTP {
	t.Helper()
	m, err := account.NewSMTP(account.SMTPSettings{Host: "127.0.0.1", Port: srv.Addr.Port, From: "aias@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
