package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/audit"
	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// Member is one person's membership of the tenant.
type Member struct {
	UserID    uuid.UUID `db:"user_id" json:"user_id"`
	Email     string    `db:"email" json:"email"`
	Role      auth.Role `db:"role" json:"role"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

const memberQuery = `SELECT m.user_id, u.email, m.role, m.created_at
                       FROM memberships m JOIN users u ON u.id = m.user_id
                      WHERE m.tenant_id = $1`

// ListMembers returns the members of by's tenant, oldest first (any role).
func (s *Service) ListMembers(ctx context.Context, by Principal) ([]Member, error) {
	var out []Member
	err := s.db.InTenantTx(ctx, by.TenantID, func(q postgres.Querier) error {
		return q.SelectContext(ctx, &out, memberQuery+` ORDER BY m.created_at, u.email`, postgres.Tenant(q))
	})
	if err != nil {
		return nil, fmt.Errorf("list members: %w", postgres.Classify(err))
	}
	return out, nil
}

// ChangeRole gives a member another role. Owners and admins change roles,
// never to or from a role above their own, and the tenant's last owner
// stays an owner (ErrLastOwner). The member's pending invitations for a
// role the new one may not grant are revoked.
func (s *Service) ChangeRole(ctx context.Context, by Principal, userID uuid.UUID, role auth.Role) (Member, error) {
	if !role.Valid() {
		return Member{}, errs.Validation("role is not valid", errs.FieldError{Path: "role", Message: "must be owner, admin, member or viewer"})
	}
	var m Member
	err := s.db.InTenantTx(ctx, by.TenantID, func(q postgres.Querier) error {
		members, err := lockMembers(ctx, q)
		if err != nil {
			return err
		}
		target, err := mayManage(members, by, userID)
		if err != nil {
			return err
		}
		if !roleOf(members, by.UserID).AtLeast(role) {
			return ErrRoleTooHigh
		}
		if target.Role == auth.Owner && role != auth.Owner && owners(members) <= 1 {
			return ErrLastOwner
		}
		const update = `UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2`
		if _, err := q.ExecContext(ctx, update, postgres.Tenant(q), userID, role); err != nil {
			return fmt.Errorf("change role of %s: %w", userID, postgres.Classify(err))
		}
		if err := revokeInvitesBy(ctx, q, userID, role); err != nil {
			return err
		}
		m = target
		m.Role = role
		return audit.RecordUser(ctx, q, by.TenantID, by.UserID, "member.role_change", "user", userID.String(), logging.RequestID(ctx))
	})
	return m, err
}

// RemoveMember takes a user out of by's tenant and ends their sign-ins and
// pending invitations to it. Anyone may leave; removing someone else takes an owner or admin whose
// role is at least theirs. The last owner cannot be removed (ErrLastOwner).
func (s *Service) RemoveMember(ctx context.Context, by Principal, userID uuid.UUID) error {
	return s.db.InTenantTx(ctx, by.TenantID, func(q postgres.Querier) error {
		members, err := lockMembers(ctx, q)
		if err != nil {
			return err
		}
		target, err := mayManage(members, by, userID)
		if err != nil {
			return err
		}
		if target.Role == auth.Owner && owners(members) <= 1 {
			return ErrLastOwner
		}
		tenantID := postgres.Tenant(q)
		if _, err := q.ExecContext(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return fmt.Errorf("remove member %s: %w", userID, postgres.Classify(err))
		}
		const endSessions = `UPDATE user_sessions SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL`
		if _, err := q.ExecContext(ctx, endSessions, tenantID, userID); err != nil {
			return fmt.Errorf("end sessions of %s: %w", userID, postgres.Classify(err))
		}
		if err := revokeInvitesBy(ctx, q, userID, ""); err != nil {
			return err
		}
		return audit.RecordUser(ctx, q, by.TenantID, by.UserID, "member.remove", "user", userID.String(), logging.RequestID(ctx))
	})
}

// revokeInvitesBy revokes the pending invitations userID made for a role
// that role ("" once they are no longer a member) may not grant. Accepting
// an invitation does not look at its inviter, so this is what keeps a
// removed or demoted admin from coming back, or sending someone, through
// a link they made before.
func revokeInvitesBy(ctx context.Context, q postgres.Querier, userID uuid.UUID, role auth.Role) error {
	var beyond []string
	for _, r := range []auth.Role{auth.Owner, auth.Admin, auth.Member, auth.Viewer} {
		if !mayInvite(role, r) {
			beyond = append(beyond, string(r))
		}
	}
	if len(beyond) == 0 {
		return nil
	}
	const revoke = `UPDATE invites SET revoked_at = now()
	                 WHERE tenant_id = $1 AND invited_by = $2 AND role = ANY (string_to_array($3, ','))
	                   AND accepted_at IS NULL AND revoked_at IS NULL`
	if _, err := q.ExecContext(ctx, revoke, postgres.Tenant(q), userID, strings.Join(beyond, ",")); err != nil {
		return fmt.Errorf("revoke invitations of %s: %w", userID, postgres.Classify(err))
	}
	return nil
}

// lockMembers reads every membership of the transaction's tenant and locks
// them, so two changes at once cannot both count the other owner and leave
// none.
func lockMembers(ctx context.Context, q postgres.Querier) ([]Member, error) {
	var out []Member
	const lock = `SELECT m.user_id, u.email, m.role, m.created_at
	                FROM memberships m JOIN users u ON u.id = m.user_id
	               WHERE m.tenant_id = $1 ORDER BY m.user_id FOR UPDATE OF m`
	if err := q.SelectContext(ctx, &out, lock, postgres.Tenant(q)); err != nil {
		return nil, fmt.Errorf("lock members: %w", postgres.Classify(err))
	}
	return out, nil
}

// mayManage returns userID's membership if by may change it: by leaving
// themselves, or by an owner or admin (as they are now, not as they were
// when the request began) whose role is at least the target's.
func mayManage(members []Member, by Principal, userID uuid.UUID) (Member, error) {
	target, ok := find(members, userID)
	if !ok {
		return Member{}, errs.NotFoundf("member not found")
	}
	if userID == by.UserID {
		return target, nil
	}
	mine := roleOf(members, by.UserID)
	if !mine.AtLeast(auth.Admin) {
		return Member{}, ErrForbidden
	}
	if !mine.AtLeast(target.Role) {
		return Member{}, ErrRoleTooHigh
	}
	return target, nil
}

func find(members []Member, userID uuid.UUID) (Member, bool) {
	for _, m := range members {
		if m.UserID == userID {
			return m, true
		}
	}
	return Member{}, false
}

// roleOf is userID's role, or "" (which grants nothing) when not a member.
func roleOf(members []Member, userID uuid.UUID) auth.Role {
	m, _ := find(members, userID)
	return m.Role
}

func owners(members []Member) int {
	n := 0
	for _, m := range members {
		if m.Role == auth.Owner {
			n++
		}
	}
	return n
}
