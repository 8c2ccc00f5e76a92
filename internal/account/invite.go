package account

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"aias/internal/audit"
	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// Invitation is an invitation as the tenant's admins see it; the link's
// token is never stored, only its SHA-256.
type Invitation struct {
	ID         uuid.UUID  `db:"id" json:"id"`
	Email      string     `db:"email" json:"email"`
	Role       auth.Role  `db:"role" json:"role"`
	InvitedBy  *uuid.UUID `db:"invited_by" json:"invited_by"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at" json:"expires_at"`
	AcceptedAt *time.Time `db:"accepted_at" json:"accepted_at"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at"`
}

// Invited is a new invitation with its one-time link, shown once. Sent
// says whether it was also emailed (a Mailer is configured and sending
// worked).
type Invited struct {
	Invitation Invitation
	Link       string
	Sent       bool
}

// PendingInvite is what the invitation page shows before it is accepted.
// HasAccount: the email has a user with a password, who accepts with that
// password; otherwise the invited person chooses one.
type PendingInvite struct {
	TenantID   uuid.UUID
	TenantName string
	Email      string
	Role       auth.Role
	ExpiresAt  time.Time
	HasAccount bool
}

// Acceptance accepts an invitation: Password is the new password for a
// new user, or the existing user's password.
type Acceptance struct {
	Token     string
	Password  string
	IP        string
	UserAgent string
}

const invitationColumns = `id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at`

// Invite invites email into by's tenant with role. Only owners and admins
// invite (as they are now: by's membership is read again), and never above
// their own role. An earlier pending invitation of the same email is
// revoked; a member's email is refused. The link (<PublicURL>/invite?token=…)
// is returned once and emailed when a Mailer is configured.
func (s *Service) Invite(ctx context.Context, by Principal, email string, role auth.Role) (Invited, error) {
	email = normalizeEmail(email)
	if err := inviteProblems(by, email, role); err != nil {
		return Invited{}, err
	}
	token := newToken()
	var inv Invitation
	err := s.db.InTenantTx(ctx, by.TenantID, func(q postgres.Querier) error {
		mine, err := inviterRole(ctx, q, by.UserID)
		if err != nil {
			return err
		}
		if err := mayInviteAs(mine, role); err != nil {
			return err
		}
		if inv, err = insertInvite(ctx, q, by, email, role, token, s.opts.InviteTTL); err != nil {
			return err
		}
		return audit.RecordUser(ctx, q, by.TenantID, by.UserID, "invite.create", "invite", inv.ID.String(), logging.RequestID(ctx))
	})
	if err != nil {
		return Invited{}, err
	}
	out := Invited{Invitation: inv, Link: s.opts.PublicURL + "/invite?token=" + token}
	out.Sent = s.sendInvite(ctx, by, out)
	return out, nil
}

func (s *Service) sendInvite(ctx context.Context, by Principal, in Invited) bool {
	if s.opts.Mailer == nil {
		return false
	}
	return s.mail(ctx, Message{To: in.Invitation.Email, Subject: "You are invited to " + s.tenantName(ctx, by.TenantID) + " on AIAS",
		Body: fmt.Sprintf("%s invites you to join as %s.\n\nAccept the invitation (the link works once, until %s):\n\n%s\n",
			by.Email, in.Invitation.Role, in.Invitation.ExpiresAt.UTC().Format(time.RFC1123), in.Link)})
}

func inviteProblems(by Principal, email string, role auth.Role) error {
	if f := emailProblem(email); f != nil {
		return errs.Validation("invitation is not valid", *f)
	}
	if !role.Valid() {
		return errs.Validation("invitation is not valid", errs.FieldError{Path: "role", Message: "must be owner, admin, member or viewer"})
	}
	return mayInviteAs(by.Role, role)
}

// mayInviteAs is the rule of who invites: owners and admins, never above
// their own role.
func mayInviteAs(by, role auth.Role) error {
	if !by.AtLeast(auth.Admin) {
		return ErrForbidden
	}
	if !by.AtLeast(role) {
		return ErrRoleTooHigh
	}
	return nil
}

func mayInvite(by, role auth.Role) bool { return mayInviteAs(by, role) == nil }

// inviterRole is by's role as it is now, its membership locked until the
// transaction ends: a removal or demotion (which revokes what they may no
// longer grant) then comes before the invitation or after it, never
// beside it.
func inviterRole(ctx context.Context, q postgres.Querier, userID uuid.UUID) (auth.Role, error) {
	var role auth.Role
	const get = `SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2 FOR SHARE`
	err := q.GetContext(ctx, &role, get, postgres.Tenant(q), userID)
	if postgres.IsNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the inviter's role: %w", postgres.Classify(err))
	}
	return role, nil
}

func insertInvite(ctx context.Context, q postgres.Querier, by Principal, email string, role auth.Role, token string, ttl time.Duration) (Invitation, error) {
	tenantID := postgres.Tenant(q)
	var member bool
	const isMember = `SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
	                                 WHERE m.tenant_id = $1 AND u.email = $2)`
	if err := q.GetContext(ctx, &member, isMember, tenantID, email); err != nil {
		return Invitation{}, fmt.Errorf("check membership: %w", postgres.Classify(err))
	}
	if member {
		return Invitation{}, ErrAlreadyMember
	}
	const revokeEarlier = `UPDATE invites SET revoked_at = now()
	                        WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL`
	if _, err := q.ExecContext(ctx, revokeEarlier, tenantID, email); err != nil {
		return Invitation{}, fmt.Errorf("revoke earlier invitations: %w", postgres.Classify(err))
	}
	const insert = `INSERT INTO invites (id, tenant_id, email, role, token_hash, invited_by, expires_at)
	                VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING ` + invitationColumns
	var inv Invitation
	err := q.GetContext(ctx, &inv, insert, uuid.New(), tenantID, email, role, hashToken(token), by.UserID, ttl.Seconds())
	if err != nil {
		return Invitation{}, fmt.Errorf("insert invitation: %w", postgres.Classify(err))
	}
	return inv, nil
}

// ListInvites returns the tenant's invitations, newest first (owners and
// admins only).
func (s *Service) ListInvites(ctx context.Context, by Principal) ([]Invitation, error) {
	if !by.Role.AtLeast(auth.Admin) {
		return nil, ErrForbidden
	}
	var out []Invitation
	err := s.db.InTenantTx(ctx, by.TenantID, func(q postgres.Querier) error {
		return q.SelectContext(ctx, &out, `SELECT `+invitationColumns+` FROM invites WHERE tenant_id = $1
		                                     ORDER BY created_at DESC, id DESC LIMIT 500`, postgres.Tenant(q))
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", postgres.Classify(err))
	}
	return out, nil
}

// RevokeInvite stops a pending invitation from working. Revoking one for
// a role above by's is refused.
func (s *Service) RevokeInvite(ctx context.Context, by Principal, id uuid.UUID) error {
	if !by.Role.AtLeast(auth.Admin) {
		return ErrForbidden
	}
	return s.db.InTenantTx(ctx, by.TenantID, func(q postgres.Querier) error {
		var role auth.Role
		const get = `SELECT role FROM invites WHERE id = $1 AND tenant_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`
		err := q.GetContext(ctx, &role, get, id, postgres.Tenant(q))
		if postgres.IsNoRows(err) {
			return errs.NotFoundf("invitation not found")
		}
		if err != nil {
			return fmt.Errorf("get invitation %s: %w", id, postgres.Classify(err))
		}
		if !by.Role.AtLeast(role) {
			return ErrRoleTooHigh
		}
		if _, err := q.ExecContext(ctx, `UPDATE invites SET revoked_at = now() WHERE id = $1 AND tenant_id = $2`, id, postgres.Tenant(q)); err != nil {
			return fmt.Errorf("revoke invitation %s: %w", id, postgres.Classify(err))
		}
		return audit.RecordUser(ctx, q, by.TenantID, by.UserID, "invite.revoke", "invite", id.String(), logging.RequestID(ctx))
	})
}

type inviteRow struct {
	InviteID     uuid.UUID  `db:"invite_id"`
	TenantID     uuid.UUID  `db:"tenant_id"`
	TenantName   string     `db:"tenant_name"`
	Email        string     `db:"email"`
	Role         auth.Role  `db:"role"`
	UserID       *uuid.UUID `db:"user_id"`
	PasswordHash *string    `db:"password_hash"`
	ExpiresAt    time.Time  `db:"expires_at"`
}

func (s *Service) lookupInvite(ctx context.Context, token string) (inviteRow, error) {
	if !wellFormed(token) {
		return inviteRow{}, ErrInviteInvalid
	}
	var r inviteRow
	err := s.db.GetContext(ctx, &r, `SELECT invite_id, tenant_id, tenant_name, email, role, user_id, password_hash, expires_at
	                                   FROM aias_invite_lookup($1)`, hashToken(token))
	if postgres.IsNoRows(err) {
		return inviteRow{}, ErrInviteInvalid
	}
	if err != nil {
		return inviteRow{}, fmt.Errorf("look up invitation: %w", postgres.Classify(err))
	}
	return r, nil
}

// LookupInvite describes a pending invitation for its page, or answers
// ErrInviteInvalid. It does not use the invitation.
func (s *Service) LookupInvite(ctx context.Context, token string) (PendingInvite, error) {
	r, err := s.lookupInvite(ctx, token)
	if err != nil {
		return PendingInvite{}, err
	}
	return PendingInvite{TenantID: r.TenantID, TenantName: r.TenantName, Email: r.Email, Role: r.Role,
		ExpiresAt: r.ExpiresAt, HasAccount: r.PasswordHash != nil}, nil
}

// AcceptInvite uses an invitation once and signs the person in to its
// tenant. A new email becomes a user with a.Password (checked like any new
// password); an email with an account joins with its existing password
// (wrong: ErrBadCredentials, recorded and rate limited like a sign-in); an
// email whose user has no password is refused (ErrResetRequired), so the
// holder of a link cannot set the password of an identity with other
// tenants. An existing member keeps their role. The link then stops working.
func (s *Service) AcceptInvite(ctx context.Context, a Acceptance) (SignIn, error) {
	r, err := s.lookupInvite(ctx, a.Token)
	if err != nil {
		return SignIn{}, err
	}
	expected, fresh, err := s.acceptanceHashes(ctx, r, a)
	if err != nil {
		return SignIn{}, err
	}
	var out struct {
		UserID   uuid.UUID `db:"user_id"`
		TenantID uuid.UUID `db:"tenant_id"`
		Hash     string    `db:"password_hash"`
	}
	err = s.db.GetContext(ctx, &out, `SELECT user_id, tenant_id, password_hash FROM aias_invite_accept($1, $2, $3, $4)`,
		hashToken(a.Token), expected, fresh, logging.RequestID(ctx))
	if postgres.IsNoRows(err) {
		return SignIn{}, ErrInviteInvalid
	}
	if err != nil {
		return SignIn{}, fmt.Errorf("accept invitation: %w", postgres.Classify(err))
	}
	return s.startSession(ctx, out.UserID, out.TenantID, out.Hash, a.IP, a.UserAgent)
}

// acceptanceHashes returns the hash the existing user's password was
// verified against, or the hash of a new user's password (the other nil).
func (s *Service) acceptanceHashes(ctx context.Context, r inviteRow, a Acceptance) (expected, fresh *string, err error) {
	switch {
	case r.UserID != nil && r.PasswordHash == nil:
		return nil, nil, ErrResetRequired
	case r.UserID != nil:
		if s.opts.Limiter != nil {
			if err := s.opts.Limiter.Allow(ctx, r.Email, a.IP); err != nil {
				return nil, nil, err
			}
		}
		ok := false
		if len(a.Password) <= MaxPasswordLen {
			if ok, err = s.hasher.Verify(ctx, a.Password, *r.PasswordHash); err != nil {
				return nil, nil, fmt.Errorf("verify password of user %s: %w", *r.UserID, err)
			}
		}
		if !ok {
			return nil, nil, s.failed(ctx, r.Email, a.IP, a.UserAgent, "invite_wrong_password")
		}
		return r.PasswordHash, nil, nil
	}
	if err := CheckPassword(a.Password, r.Email); err != nil {
		return nil, nil, err
	}
	h, err := s.hasher.Hash(ctx, a.Password)
	if err != nil {
		return nil, nil, err
	}
	return nil, &h, nil
}

// mail sends m when a Mailer is configured and reports whether it was
// sent. A failure is logged, not returned: the link is shown anyway.
func (s *Service) mail(ctx context.Context, m Message) bool {
	if s.opts.Mailer == nil {
		return false
	}
	m.Subject = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, m.Subject)
	if err := s.opts.Mailer.Send(ctx, m); err != nil {
		s.opts.Log.Warn().Err(err).Msg("account link not emailed")
		return false
	}
	return true
}

// tenantName is the tenant's name for an email's subject ("AIAS" alone if
// it cannot be read).
func (s *Service) tenantName(ctx context.Context, tenantID uuid.UUID) string {
	var name string
	if err := s.db.Scoped(tenantID).GetContext(ctx, &name, `SELECT name FROM tenants WHERE id = $1`, tenantID); err != nil {
		return "a tenant"
	}
	return name
}
