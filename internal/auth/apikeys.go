package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/page"
	"aias/internal/postgres"
)

// APIKey describes a key; the key itself is returned only when minted.
type APIKey struct {
	ID         uuid.UUID  `db:"id" json:"id"`
	Name       string     `db:"name" json:"name"`
	Prefix     string     `db:"prefix" json:"prefix"`
	Role       Role       `db:"role" json:"role"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at"`
}

// NewAPIKey is the request to mint a key.
type NewAPIKey struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

const keyColumns = `id, name, prefix, role, created_at, last_used_at, revoked_at`

// Mint creates a key for the transaction's tenant on behalf of by. Nobody
// mints a key above their own role: an admin cannot make an owner key.
func Mint(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, by Role, n NewAPIKey) (APIKey, string, error) {
	n.Name = strings.TrimSpace(n.Name)
	var fields []errs.FieldError
	if n.Name == "" || len(n.Name) > 100 {
		fields = append(fields, errs.FieldError{Path: "name", Message: "must be 1 to 100 characters"})
	}
	if !n.Role.Valid() {
		fields = append(fields, errs.FieldError{Path: "role", Message: "must be owner, admin, member or viewer"})
	}
	if len(fields) > 0 {
		return APIKey{}, "", errs.Validation("api key is not valid", fields...)
	}
	if !by.AtLeast(n.Role) {
		return APIKey{}, "", errs.E(errs.Forbidden, "role_too_high", fmt.Sprintf("a %s key cannot mint a %s key", by, n.Role))
	}
	key := NewKey()
	const insert = `INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, role) VALUES ($1, $2, $3, $4, $5, $6)
	                RETURNING ` + keyColumns
	var k APIKey
	if err := q.GetContext(ctx, &k, insert, uuid.New(), tenantID, n.Name, DisplayPrefix(key), Hash(key), n.Role); err != nil {
		return APIKey{}, "", fmt.Errorf("mint api key: %w", postgres.Classify(err))
	}
	return k, key, nil
}

// ListKeys returns one page of the tenant's keys, newest first.
func ListKeys(ctx context.Context, q postgres.Querier, p page.Request) ([]APIKey, string, error) {
	const list = `SELECT ` + keyColumns + ` FROM api_keys
	               WHERE tenant_id = $5 AND (NOT $1 OR (created_at, id) < ($2, $3)) ORDER BY created_at DESC, id DESC LIMIT $4`
	var out []APIKey
	set, after, afterID := p.Args()
	if err := q.SelectContext(ctx, &out, list, set, after, afterID, p.Fetch(), postgres.Tenant(q)); err != nil {
		return nil, "", fmt.Errorf("list api keys: %w", postgres.Classify(err))
	}
	out, next := page.Cut(out, p, func(k APIKey) page.Cursor { return page.Cursor{CreatedAt: k.CreatedAt, ID: k.ID} })
	return out, next, nil
}

// Revoke ends a key at once. Revoking a key above one's own role is refused.
func Revoke(ctx context.Context, q postgres.Querier, id uuid.UUID, by Role) error {
	var k APIKey
	tenantID := postgres.Tenant(q)
	const get = `SELECT ` + keyColumns + ` FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL`
	err := q.GetContext(ctx, &k, get, id, tenantID)
	if postgres.IsNoRows(err) {
		return errs.NotFoundf("api key not found")
	}
	if err != nil {
		return fmt.Errorf("get api key %s: %w", id, postgres.Classify(err))
	}
	if !by.AtLeast(k.Role) {
		return errs.E(errs.Forbidden, "role_too_high", fmt.Sprintf("a %s key cannot revoke a %s key", by, k.Role))
	}
	if k.Role == Owner {
		// Lock the owner keys, then count: two revocations at once cannot
		// both see another owner key and leave none.
		var owners int
		const count = `SELECT count(*) FROM (SELECT id FROM api_keys WHERE tenant_id = $1 AND role = 'owner' AND revoked_at IS NULL FOR UPDATE) k`
		if err := q.GetContext(ctx, &owners, count, tenantID); err != nil {
			return fmt.Errorf("count owner keys: %w", postgres.Classify(err))
		}
		if owners <= 1 {
			return errs.E(errs.Conflict, "last_owner_key", "this is the tenant's last owner key; mint another owner key first")
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2`, id, tenantID); err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, postgres.Classify(err))
	}
	return nil
}
