package e2e_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"aias/internal/testutil/smtptest"
	"aias/pkg/aias"
)

// The Go client acts as a person against the real server: it signs up,
// logs in, invites a member who joins, manages the tenant's people, resets
// a password and logs out, every exchange held to the document by the
// harness's transport.
func TestTheClientActsAsASignedInPerson(t *testing.T) {
	t.Parallel()
	mail := smtptest.New(t)
	s := start(t, options{env: map[string]string{
		"AIAS_SMTP_HOST": "127.0.0.1", "AIAS_SMTP_PORT": strconv.Itoa(mail.Addr.Port), "AIAS_SMTP_FROM": "aias@example.com"}})
	ctx := context.Background()
	public := s.client("")

	// Sign up: a Client signed in as the new owner, which can read and write.
	signup, in, err := public.SignUpPerson(ctx, aias.PersonSignupRequest{Email: "ola@example.com", Password: strongPassword, TenantName: "Ola"})
	if err != nil {
		t.Fatalf("SignUpPerson: %v", err)
	}
	if in.Email != "ola@example.com" || in.Role != aias.RoleOwner || in.CSRFToken == "" || in.TenantID == "" {
		t.Errorf("SignUpPerson = %+v, want the owner with a CSRF token", in)
	}
	if _, _, err := public.SignUpPerson(ctx, aias.PersonSignupRequest{Email: "ola@example.com", Password: strongPassword, TenantName: "Again"}); aias.CodeOf(err) != aias.CodeEmailTaken {
		t.Errorf("a second signup of the email: %v, want email_taken", err)
	}
	if _, err := signup.CreateWorkflow(ctx, aias.YAML([]byte("name: hello\nsteps:\n  - name: a\n    type: log\n    with: {message: hi}\n"))); err != nil {
		t.Fatalf("a write of the signed-up Client: %v", err)
	}

	// Log in: a wrong password, then the right one; two sign-ins are listed.
	if _, _, err := aias.SignIn(ctx, s.base, "ola@example.com", "not-the-password-at-all"); aias.CodeOf(err) != aias.CodeInvalidCredentials {
		t.Errorf("SignIn with a wrong password: %v, want invalid_credentials", err)
	}
	owner, in2, err := public.LogIn(ctx, aias.LoginRequest{Email: "ola@example.com", Password: strongPassword})
	if err != nil {
		t.Fatalf("LogIn: %v", err)
	}
	if in2.UserID != in.UserID || in2.TenantID != in.TenantID || in2.CSRFToken == in.CSRFToken {
		t.Errorf("LogIn = %+v after signup %+v, want the same person and tenant, another sign-in", in2, in)
	}
	sessions, err := owner.ListSessions(ctx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("ListSessions = %+v, %v; want the signup's and the login's", sessions, err)
	}
	for _, x := range sessions {
		if !x.Current {
			if err := owner.RevokeSession(ctx, x.ID); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
		}
	}
	if _, err := signup.ListWorkflowsPage(ctx, aias.ListOptions{}); aias.CodeOf(err) != aias.CodeUnauthenticated {
		t.Errorf("the revoked sign-in's Client: %v, want unauthenticated", err)
	}

	// Invite: the link once; an API key is no sign-in.
	inv, err := owner.Invite(ctx, aias.InviteRequest{Email: "pia@example.com", Role: aias.RoleViewer})
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	if !inv.Sent || inv.Role != aias.RoleViewer || inv.InvitedBy == nil || *inv.InvitedBy != in.UserID || !strings.Contains(inv.Link, "token=") {
		t.Errorf("Invite = %+v, want a viewer invitation by the owner, emailed, with its link", inv)
	}
	key, err := owner.CreateAPIKey(ctx, aias.CreateAPIKeyRequest{Name: "ops", Role: aias.RoleOwner})
	if err != nil {
		t.Fatalf("CreateAPIKey as a person: %v", err)
	}
	if _, err := s.client(key.Key).Invite(ctx, aias.InviteRequest{Email: "x@example.com", Role: aias.RoleViewer}); aias.CodeOf(err) != aias.CodeSessionRequired {
		t.Errorf("Invite with an API key: %v, want session_required", err)
	}
	invites, err := owner.ListInvites(ctx)
	if err != nil || len(invites) != 1 || invites[0].ID != inv.ID || invites[0].AcceptedAt != nil {
		t.Fatalf("ListInvites = %+v, %v; want the one open invitation", invites, err)
	}

	// The invited person joins through the link and reads; a write beyond a
	// viewer's role is refused by the role table, not by CSRF.
	token := inv.Link[strings.Index(inv.Link, "token=")+len("token="):]
	viewer, vin, err := public.AcceptInvite(ctx, aias.TokenPassword{Token: token, Password: "violet-anchor-93-meadow"})
	if err != nil {
		t.Fatalf("AcceptInvite: %v", err)
	}
	if vin.Role != aias.RoleViewer || vin.TenantID != in.TenantID {
		t.Errorf("AcceptInvite = %+v, want a viewer of the owner's tenant", vin)
	}
	if _, _, err := public.AcceptInvite(ctx, aias.TokenPassword{Token: token, Password: "violet-anchor-93-meadow"}); aias.CodeOf(err) != aias.CodeInviteInvalid {
		t.Errorf("the link used twice: %v, want invite_invalid", err)
	}
	if _, err := viewer.ListWorkflowsPage(ctx, aias.ListOptions{}); err != nil {
		t.Errorf("the viewer reads: %v", err)
	}
	if _, err := viewer.Invite(ctx, aias.InviteRequest{Email: "y@example.com", Role: aias.RoleViewer}); aias.CodeOf(err) != aias.CodeForbidden {
		t.Errorf("the viewer invites: %v, want forbidden", err)
	}

	// Members: listed oldest first; the last owner stays; a role changes.
	members, err := owner.ListMembers(ctx)
	if err != nil || len(members) != 2 || members[0].Email != "ola@example.com" || members[1].Email != "pia@example.com" {
		t.Fatalf("ListMembers = %+v, %v; want the owner, then the viewer", members, err)
	}
	if _, err := owner.ChangeMemberRole(ctx, in.UserID, aias.RoleAdmin); aias.CodeOf(err) != aias.CodeLastOwner {
		t.Errorf("the last owner demoted: %v, want last_owner", err)
	}
	m, err := owner.ChangeMemberRole(ctx, vin.UserID, aias.RoleMember)
	if err != nil || m.Role != aias.RoleMember || m.UserID != vin.UserID {
		t.Errorf("ChangeMemberRole = %+v, %v; want the member", m, err)
	}
	second, err := owner.Invite(ctx, aias.InviteRequest{Email: "quinn@example.com", Role: aias.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.RevokeInvite(ctx, second.ID); err != nil {
		t.Errorf("RevokeInvite: %v", err)
	}
	if err := owner.RemoveMember(ctx, vin.UserID); err != nil {
		t.Errorf("RemoveMember: %v", err)
	}
	if _, err := viewer.ListMembers(ctx); aias.CodeOf(err) != aias.CodeUnauthenticated {
		t.Errorf("the removed member's Client: %v, want unauthenticated", err)
	}

	// Password reset by email: every sign-in ends; the new password signs in.
	sent := len(mail.Received())
	if err := public.RequestPasswordReset(ctx, "ola@example.com"); err != nil {
		t.Fatalf("RequestPasswordReset: %v", err)
	}
	mails := waitMail(t, mail, sent+1) // the link is sent after the answer
	link := regexp.MustCompile(`/reset\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(mails[len(mails)-1].Data)
	if link == nil {
		t.Fatalf("reset email without a link: %s", mails[len(mails)-1].Data)
	}
	const newPassword = "copper-kettle-58-summit"
	if err := public.CompletePasswordReset(ctx, aias.TokenPassword{Token: link[1], Password: newPassword}); err != nil {
		t.Fatalf("CompletePasswordReset: %v", err)
	}
	if _, err := owner.ListMembers(ctx); aias.CodeOf(err) != aias.CodeUnauthenticated {
		t.Errorf("a sign-in after its password was reset: %v, want unauthenticated", err)
	}

	// Log out, and log out everywhere.
	a, _, err := public.LogIn(ctx, aias.LoginRequest{Email: "ola@example.com", Password: newPassword, TenantID: in.TenantID})
	if err != nil {
		t.Fatalf("LogIn with the new password: %v", err)
	}
	b, _, err := public.LogIn(ctx, aias.LoginRequest{Email: "ola@example.com", Password: newPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LogOut(ctx); err != nil {
		t.Fatalf("LogOut: %v", err)
	}
	var e *aias.Error
	if _, err := a.ListMembers(ctx); !errors.As(err, &e) || e.Status != 401 || e.Code != aias.CodeUnauthenticated {
		t.Errorf("after LogOut: %v, want 401 unauthenticated", err)
	}
	c, _, err := public.LogIn(ctx, aias.LoginRequest{Email: "ola@example.com", Password: newPassword})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.LogOutEverywhere(ctx); err != nil || n != 2 {
		t.Errorf("LogOutEverywhere = %d, %v; want 2 (b and c)", n, err)
	}
	if _, err := b.ListSessions(ctx); aias.CodeOf(err) != aias.CodeUnauthenticated {
		t.Errorf("another sign-in after LogOutEverywhere: %v, want unauthenticated", err)
	}
	if err := s.client(key.Key).LogOut(ctx); aias.CodeOf(err) != aias.CodeSessionRequired {
		t.Errorf("LogOut with an API key: %v, want session_required", err)
	}
}
