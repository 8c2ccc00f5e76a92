package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
)

// Role is a member's level of access within a tenant.
type Role string

// The roles, from least to most privileged.
const (
	Viewer Role = "viewer"
	Member Role = "member"
	Admin  Role = "admin"
	Owner  Role = "owner"
)

var rank = map[Role]int{Viewer: 1, Member: 2, Admin: 3, Owner: 4}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return rank[r] > 0 }

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return rank[r] >= rank[min] && rank[min] > 0 }

// Principal is who a request acts as: one key of one tenant, or one
// person signed in to the console for one tenant (UserID set, KeyID nil).
type Principal struct {
	KeyID    uuid.UUID
	UserID   uuid.UUID
	TenantID uuid.UUID
	Role     Role
}

var errBadKey = errs.E(errs.Unauthorized, "unauthorized", "missing or invalid API key")

// Authenticate resolves a presented key. Malformed keys are refused before
// any database work; unknown or revoked keys get the same answer.
func Authenticate(ctx context.Context, db *postgres.DB, key string) (Principal, error) {
	if !WellFormed(key) {
		return Principal{}, errBadKey
	}
	var row struct {
		ID       uuid.UUID `db:"id"`
		TenantID uuid.UUID `db:"tenant_id"`
		Role     Role      `db:"role"`
	}
	err := db.GetContext(ctx, &row, `SELECT id, tenant_id, role FROM aias_api_key_lookup($1)`, Hash(key))
	if postgres.IsNoRows(err) {
		return Principal{}, errBadKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up api key: %w", postgres.Classify(err))
	}
	return Principal{KeyID: row.ID, TenantID: row.TenantID, Role: row.Role}, nil
}
