package account_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/postgres"
)

// Row-level security keeps one tenant's sessions and invitations out of
// another's transactions, and the tables without a tenant out of the
// application role's reach entirely.
func TestSessionsAndInvitesOfOneTenantAreInvisibleToAnother(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	a := signup(t, s, "tenant-a@example.com")
	bb := signup(t, s, "tenant-b@example.com")
	if _, err := s.Invite(ctx, a.Principal, "guest-of-a@example.com", auth.Viewer); err != nil {
		t.Fatal(err)
	}
	visible := func(tenant uuid.UUID, table string) int {
		var n int
		err := b.db.InTenantTx(ctx, tenant, func(q postgres.Querier) error {
			return q.GetContext(ctx, &n, `SELECT count(*) FROM `+table) // no tenant filter: RLS alone
		})
		if err != nil {
			t.Fatalf("count %s as %s: %v", table, tenant, err)
		}
		return n
	}
	for _, table := range []string{"user_sessions", "invites"} {
		if n := visible(a.Principal.TenantID, table); n != 1 {
			t.Errorf("%s visible to tenant A = %d, want 1", table, n)
		}
		if n := visible(bb.Principal.TenantID, table); table == "invites" && n != 0 || table == "user_sessions" && n != 1 {
			t.Errorf("%s visible to tenant B = %d, want only B's own", table, n)
		}
	}
	var n int
	if err := b.db.GetContext(ctx, &n, `SELECT count(*) FROM user_sessions`); err != nil || n != 0 {
		t.Errorf("sessions visible without a tenant = %d (%v), want 0", n, err)
	}
	// A principal of B naming A's session finds nothing.
	wantCode(t, "RevokeSession(A's session as B)", s.RevokeSession(ctx, bb.Principal, a.Principal.SessionID), "not_found")
	mustAuth(t, s, a.Token)
	forged := bb.Principal
	forged.UserID = a.Principal.UserID // B's tenant, A's user: still nothing of A's
	if list, err := s.ListSessions(ctx, forged); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(A's user in B's tenant) = %+v, %v; want none", list, err)
	}
	if n := b.count(t, `SELECT count(*) FROM user_sessions`); n != 2 {
		t.Errorf("sessions in the database = %d, want 2", n)
	}
}

func TestTheApplicationRoleCannotReadSecretsOfAccounts(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	a := signup(t, s, "secretive@example.com")
	if _, err := s.CreateResetLink(ctx, "secretive@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`SELECT password_hash FROM user_credentials`,
		`SELECT token_hash FROM password_resets`,
		`SELECT email FROM login_failures`,
		`SELECT token_hash FROM user_sessions`,
		`SELECT token_hash FROM invites`,
		`UPDATE memberships SET tenant_id = tenant_id`,
	} {
		err := b.db.InTenantTx(ctx, a.Principal.TenantID, func(q postgres.Querier) error {
			_, err := q.ExecContext(ctx, stmt)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the application role = %v, want permission denied", stmt, err)
		}
	}
}
