package account

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/audit"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// Session is one live sign-in, as its user sees it in their list.
type Session struct {
	ID         uuid.UUID `db:"id" json:"id"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at" json:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at" json:"expires_at"`
	IP         string    `db:"ip" json:"ip"`
	UserAgent  string    `db:"user_agent" json:"user_agent"`
	Current    bool      `db:"current" json:"current"`
}

// ListSessions returns p's live sign-ins in p's tenant, most recently used
// first, marking the one p is using. Sign-ins in the user's other tenants
// are not shown (row-level security); LogoutEverywhere ends those too.
func (s *Service) ListSessions(ctx context.Context, p Principal) ([]Session, error) {
	const list = `SELECT id, created_at, last_seen_at, expires_at, ip, user_agent, id = $3 AS current
	                FROM user_sessions
	               WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL
	                 AND expires_at > now() AND last_seen_at > now() - idle_timeout
	               ORDER BY last_seen_at DESC, id`
	var out []Session
	err := s.db.InTenantTx(ctx, p.TenantID, func(q postgres.Querier) error {
		return q.SelectContext(ctx, &out, list, postgres.Tenant(q), p.UserID, p.SessionID)
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", postgres.Classify(err))
	}
	return out, nil
}

// RevokeSession ends one of p's own sign-ins in p's tenant (signing out
// another device). Someone else's sign-in is not found.
func (s *Service) RevokeSession(ctx context.Context, p Principal, id uuid.UUID) error {
	return s.db.InTenantTx(ctx, p.TenantID, func(q postgres.Querier) error {
		const revoke = `UPDATE user_sessions SET revoked_at = now()
		                 WHERE id = $1 AND tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL`
		res, err := q.ExecContext(ctx, revoke, id, postgres.Tenant(q), p.UserID)
		if err != nil {
			return fmt.Errorf("revoke session %s: %w", id, postgres.Classify(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("session not found")
		}
		return audit.RecordUser(ctx, q, p.TenantID, p.UserID, "user.logout", "session", id.String(), logging.RequestID(ctx))
	})
}
