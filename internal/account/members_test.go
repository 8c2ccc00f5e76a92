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
