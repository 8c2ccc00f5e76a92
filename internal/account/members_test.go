package account_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"aias/internal/account"
	"aias/internal/auth"
)

func TestTheLastOwnerCanNeitherBeDemotedNorRemoved(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "solo@example.com")
	_, err := s.ChangeRole(ctx, owner.Principal, owner.Principal.UserID, auth.Admin)
	wantCode(t, "ChangeRole(last owner → admin)", err, "last_owner")
	wantCode(t, "RemoveMember(last owner leaves)", s.RemoveMember(ctx, owner.Principal, owner.Principal.UserID), "last_owner")

	second := join(t, s, owner.Principal, "heir@example.com", auth.Admin)
	if _, err := s.ChangeRole(ctx, owner.Principal, second.Principal.UserID, auth.Owner); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, owner.Principal, owner.Principal.UserID); err != nil {
		t.Fatalf("RemoveMember(one of two owners leaves) = %v, want nil", err)
	}
	heir := mustAuth(t, s, second.Token)
	_, err = s.ChangeRole(ctx, heir, heir.UserID, auth.Viewer)
	wantCode(t, "ChangeRole(the new last owner)", err, "last_owner")
	members, err := s.ListMembers(ctx, heir)
	if err != nil || len(members) != 1 || members[0].Email != "heir@example.com" || members[0].Role != auth.Owner {
		t.Errorf("ListMembers = %+v, %v; want the heir alone, owner", members, err)
	}
}

// Two owners demoting each other at once cannot leave the tenant without
// an owner: the memberships are locked before they are counted.
func TestConcurrentDemotionsLeaveAnOwner(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	for round := range 6 {
		a := signup(t, s, fmt.Sprintf("twin-a%d@example.com", round))
		bb := join(t, s, a.Principal, fmt.Sprintf("twin-b%d@example.com", round), auth.Owner)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, pair := range [][2]account.SignIn{{a, bb}, {bb, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _ = s.ChangeRole(ctx, pair[0].Principal, pair[1].Principal.UserID, auth.Member)
			}()
		}
		close(start)
		wg.Wait()
		if n := b.count(t, `SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'`, a.Principal.TenantID); n != 1 {
			t.Fatalf("round %d: owners after two crossed demotions = %d, want 1", round, n)
		}
	}
}

func TestNobodyManagesARoleAboveTheirOwn(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "top@example.com")
	admin := join(t, s, owner.Principal, "mid@example.com", auth.Admin)
	member := join(t, s, owner.Principal, "low@example.com", auth.Member)
	viewer := join(t, s, owner.Principal, "view@example.com", auth.Viewer)

	_, err := s.ChangeRole(ctx, admin.Principal, owner.Principal.UserID, auth.Viewer)
	wantCode(t, "admin demotes owner", err, "role_too_high")
	_, err = s.ChangeRole(ctx, admin.Principal, member.Principal.UserID, auth.Owner)
	wantCode(t, "admin promotes to owner", err, "role_too_high")
	wantCode(t, "admin removes owner", s.RemoveMember(ctx, admin.Principal, owner.Principal.UserID), "role_too_high")
	_, err = s.ChangeRole(ctx, member.Principal, viewer.Principal.UserID, auth.Member)
	wantCode(t, "member promotes viewer", err, "forbidden")
	wantCode(t, "viewer removes member", s.RemoveMember(ctx, viewer.Principal, member.Principal.UserID), "forbidden")
	_, err = s.ChangeRole(ctx, member.Principal, member.Principal.UserID, auth.Admin)
	wantCode(t, "member promotes self", err, "role_too_high")

	if _, err := s.ChangeRole(ctx, admin.Principal, viewer.Principal.UserID, auth.Member); err != nil {
		t.Errorf("admin promotes viewer to member = %v, want nil", err)
	}
	if err := s.RemoveMember(ctx, member.Principal, member.Principal.UserID); err != nil {
		t.Errorf("member leaves = %v, want nil", err)
	}
	refused(t, s, member.Token, "leaving the tenant")
}

// A principal's role is re-read inside the change: an admin demoted since
// their request began cannot act as an admin.
func TestRoleChecksUseTheCurrentMembershipNotThePrincipal(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "chief@example.com")
	admin := join(t, s, owner.Principal, "fading@example.com", auth.Admin)
	viewer := join(t, s, owner.Principal, "bystander@example.com", auth.Viewer)
	if _, err := s.ChangeRole(ctx, owner.Principal, admin.Principal.UserID, auth.Viewer); err != nil {
		t.Fatal(err)
	}
	stale := admin.Principal // still says admin
	wantCode(t, "RemoveMember by a stale admin", s.RemoveMember(ctx, stale, viewer.Principal.UserID), "forbidden")
}

// An admin who is removed cannot come back through an invitation they
// made before (acceptance does not look at the inviter): removal revokes
// their pending invitations. Those of others stay.
func TestARemovedAdminsInvitationsStopWorking(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "boss@example.com")
	mal := join(t, s, owner.Principal, "mal@example.com", auth.Admin)
	back, err := s.Invite(ctx, mal.Principal, "mal-again@example.com", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.Invite(ctx, owner.Principal, "kept@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, owner.Principal, mal.Principal.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptInvite(ctx, account.Acceptance{Token: token(t, back.Link), Password: password})
	wantCode(t, "AcceptInvite(made by the removed admin)", err, "invite_invalid")
	if _, err := s.LookupInvite(ctx, token(t, kept.Link)); err != nil {
		t.Errorf("LookupInvite(the owner's) = %v, want it pending still", err)
	}
	// Nor can a stale sign-in of theirs make a new one.
	_, err = s.Invite(ctx, mal.Principal, "mal-third@example.com", auth.Viewer)
	wantCode(t, "Invite by the removed admin", err, "forbidden")
}

// A demoted admin's pending invitations for roles the new role may not
// grant stop working; a demotion to member leaves them none.
func TestADemotedAdminsInvitationsAboveTheirRoleStopWorking(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	owner := signup(t, s, "head@example.com")
	ownerToBe := join(t, s, owner.Principal, "deputy@example.com", auth.Owner)
	asOwner, err := s.Invite(ctx, ownerToBe.Principal, "o2@example.com", auth.Owner)
	if err != nil {
		t.Fatal(err)
	}
	asAdmin, err := s.Invite(ctx, ownerToBe.Principal, "a2@example.com", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	asViewer, err := s.Invite(ctx, ownerToBe.Principal, "v2@example.com", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeRole(ctx, owner.Principal, ownerToBe.Principal.UserID, auth.Admin); err != nil {
		t.Fatal(err)
	}
	_, err = s.LookupInvite(ctx, token(t, asOwner.Link))
	wantCode(t, "LookupInvite(owner, by a demoted admin)", err, "invite_invalid")
	for _, inv := range []account.Invited{asAdmin, asViewer} {
		if _, err := s.LookupInvite(ctx, token(t, inv.Link)); err != nil {
			t.Errorf("LookupInvite(%s, by an admin) = %v, want it pending still", inv.Invitation.Role, err)
		}
	}
	if _, err := s.ChangeRole(ctx, owner.Principal, ownerToBe.Principal.UserID, auth.Member); err != nil {
		t.Fatal(err)
	}
	for _, inv := range []account.Invited{asAdmin, asViewer} {
		_, err := s.AcceptInvite(ctx, account.Acceptance{Token: token(t, inv.Link), Password: password})
		wantCode(t, "AcceptInvite("+string(inv.Invitation.Role)+", by a member)", err, "invite_invalid")
	}
}
