package account_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/tenant"
	"aias/internal/testutil/smtptest"
)

func TestAnInvitationWorksOnce(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{PublicURL: "https://console.example.com/"})
	ctx := context.Background()
	owner := signup(t, s, "host@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "Guest@Example.com", auth.Member)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inv.Link, "https://console.example.com/invite?token=") || inv.Sent {
		t.Errorf("Invite = %+v, want a link on the public URL, not sent (no mailer)", inv)
	}
	tok := token(t, inv.Link)
	pending, err := s.LookupInvite(ctx, tok)
	if err != nil || pending.Email != "guest@example.com" || pending.Role != auth.Member || pending.HasAccount ||
		pending.TenantName != "t-host@example.com" {
		t.Fatalf("LookupInvite = %+v, %v; want guest@example.com as member, no account yet", pending, err)
	}
	in, err := s.AcceptInvite(ctx, account.Acceptance{Token: tok, Password: password})
	if err != nil || in.Principal.TenantID != owner.Principal.TenantID || in.Principal.Role != auth.Member {
		t.Fatalf("AcceptInvite = %+v, %v; want a member of the host's tenant, signed in", in.Principal, err)
	}
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: tok, Password: "a-different-good-password"})
	wantCode(t, "AcceptInvite(second use)", err, "invite_invalid")
	_, err = s.LookupInvite(ctx, tok)
	wantCode(t, "LookupInvite(used)", err, "invite_invalid")
	if n := b.count(t, `SELECT count(*) FROM invites WHERE token_hash = sha256(convert_to($1, 'UTF8')) AND accepted_at IS NOT NULL`, tok); n != 1 {
		t.Errorf("accepted invitations stored by token hash = %d, want 1", n)
	}
}

func TestAnInvitationRoleNeverExceedsTheInvitersAndOnlyAdminsInvite(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "o@example.com")
	admin := join(t, s, owner.Principal, "admin@example.com", auth.Admin)
	member := join(t, s, owner.Principal, "member@example.com", auth.Member)
	for _, tt := range []struct {
		by   account.Principal
		role auth.Role
		code string
	}{
		{admin.Principal, auth.Owner, "role_too_high"},
		{member.Principal, auth.Viewer, "forbidden"},
		{owner.Principal, "root", "validation_failed"},
	} {
		_, err := s.Invite(ctx, tt.by, "x@example.com", tt.role)
		wantCode(t, "Invite by "+string(tt.by.Role)+" as "+string(tt.role), err, tt.code)
	}
	if _, err := s.Invite(ctx, admin.Principal, "peer@example.com", auth.Admin); err != nil {
		t.Errorf("Invite by admin as admin = %v, want nil", err)
	}
	if _, err := s.Invite(ctx, owner.Principal, "co-owner@example.com", auth.Owner); err != nil {
		t.Errorf("Invite by owner as owner = %v, want nil", err)
	}
	_, err := s.Invite(ctx, owner.Principal, "member@example.com", auth.Viewer)
	wantCode(t, "Invite(a member)", err, "already_member")
}

// A second invitation to the same email replaces the first; a revoked
// invitation does not work.
func TestRevokedAndReplacedInvitationsDoNotWork(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "rev@example.com")
	first, err := s.Invite(ctx, owner.Principal, "late@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Invite(ctx, owner.Principal, "late@example.com", auth.Member)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.LookupInvite(ctx, token(t, first.Link))
	wantCode(t, "LookupInvite(replaced)", err, "invite_invalid")
	if err := s.RevokeInvite(ctx, owner.Principal, second.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: token(t, second.Link), Password: password})
	wantCode(t, "AcceptInvite(revoked)", err, "invite_invalid")
	list, err := s.ListInvites(ctx, owner.Principal)
	if err != nil || len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt == nil {
		t.Errorf("ListInvites = %+v, %v; want both, revoked", list, err)
	}
}

func TestAnExpiredInvitationDoesNotWork(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "exp@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "slow@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	b.exec(t, `UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1`, inv.Invitation.ID)
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: password})
	wantCode(t, "AcceptInvite(expired)", err, "invite_invalid")
}

// Someone who has an account joins with their own password; a wrong one
// is refused like a wrong sign-in and leaves the invitation usable.
func TestAnExistingUserAcceptsWithTheirOwnPassword(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "inviter@example.com")
	signup(t, s, "known@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "known@example.com", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, inv.Link)
	if p, err := s.LookupInvite(ctx, tok); err != nil || !p.HasAccount {
		t.Fatalf("LookupInvite = %+v, %v; want HasAccount", p, err)
	}
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: tok, Password: "not-their-password-at-all"})
	if !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("AcceptInvite(wrong password) = %v, want ErrBadCredentials", err)
	}
	if n := b.count(t, `SELECT count(*) FROM login_failures WHERE email = 'known@example.com' AND reason = 'invite_wrong_password'`); n != 1 {
		t.Errorf("recorded failures = %d, want 1", n)
	}
	in, err := s.AcceptInvite(ctx, account.Acceptance{Token: tok, Password: password})
	if err != nil || in.Principal.TenantID != owner.Principal.TenantID || in.Principal.Role != auth.Admin {
		t.Fatalf("AcceptInvite(right password) = %+v, %v; want an admin of the inviter's tenant", in.Principal, err)
	}
	if _, err := s.Login(ctx, account.Credentials{Email: "known@example.com", Password: password}); err != nil {
		t.Errorf("Login with the unchanged password = %v", err)
	}
}

// A user without a password (made by the API's signup) cannot be given one
// through an invitation: whoever holds the link would own their identity.
func TestAnInvitationNeverSetsThePasswordOfAnExistingUser(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	if _, err := tenant.Create(ctx, b.db.DB, "apionly@example.com", "theirs"); err != nil {
		t.Fatal(err)
	}
	owner := signup(t, s, "lure@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "apionly@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: password})
	wantCode(t, "AcceptInvite(user without password)", err, "password_reset_required")
	if n := b.count(t, `SELECT count(*) FROM user_credentials c JOIN users u ON u.id = c.user_id WHERE u.email = 'apionly@example.com'`); n != 0 {
		t.Errorf("the API user got a password (%d rows), want none", n)
	}
}

func TestANewUsersPasswordIsCheckedOnAcceptance(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "strict@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "weak@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: "password1234"})
	wantCode(t, "AcceptInvite(common password)", err, "validation_failed")
	if _, err := s.LookupInvite(ctx, token(t, inv.Link)); err != nil {
		t.Errorf("LookupInvite after a refused password = %v, want the invitation still usable", err)
	}
}

func TestAnInvitationIsEmailedWhenAMailerIsConfigured(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	s, _ := setup(t, account.Options{Mailer: mailer(t, srv), PublicURL: "https://aias.example.com"})
	owner := signup(t, s, "sender@example.com")
	inv, err := s.Invite(context.Background(), owner.Principal, "recipient@example.com", auth.Member)
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if !inv.Sent || len(got) != 1 {
		t.Fatalf("Sent = %v, server received %d messages; want one sent", inv.Sent, len(got))
	}
	m := got[0]
	if m.To != "recipient@example.com" || m.From != "aias@example.com" || !strings.Contains(m.Data, inv.Link) ||
		!strings.Contains(m.Data, "Subject: You are invited to t-sender@example.com on AIAS") {
		t.Errorf("received %+v, want the link to recipient@example.com with the tenant in the subject", m)
	}
}

// Concurrent acceptances of one link by someone with an account: exactly
// one uses it.
func TestConcurrentAcceptancesUseAnInvitationOnce(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "race-host@example.com")
	signup(t, s, "racer@example.com")
	inv, err := s.Invite(ctx, owner.Principal, "racer@example.com", auth.Member)
	if err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	joined := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: password}); err == nil {
				mu.Lock()
				joined++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if joined != 1 {
		t.Errorf("acceptances that succeeded = %d, want 1", joined)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'invite.accept'`); n != 1 {
		t.Errorf("invite.accept audit entries = %d, want 1", n)
	}
}
