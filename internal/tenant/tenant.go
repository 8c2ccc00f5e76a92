// Package tenant creates and reads tenants: the unit of isolation, billing
// and limits in AIAS.
package tenant

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/postgres"
)

// Tenant is one customer account.
type Tenant struct {
	ID        uuid.UUID `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	Plan      string    `db:"plan" json:"plan"`
	Status    string    `db:"status" json:"status"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Signup is the result of creating a tenant; APIKey is shown only here.
type Signup struct {
	TenantID uuid.UUID `json:"tenant_id"`
	UserID   uuid.UUID `json:"user_id"`
	APIKeyID uuid.UUID `json:"api_key_id"`
	APIKey   string    `json:"api_key"`
}

// Create makes a user (or finds it by email), a tenant owned by that user and
// the owner's first API key, atomically.
func Create(ctx context.Context, db *postgres.DB, email, name string) (Signup, error) {
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	if err := validate(email, name); err != nil {
		return Signup{}, err
	}
	key := auth.NewKey()
	out := Signup{APIKey: key}
	err := db.InTx(ctx, func(q postgres.Querier) error {
		row := q.QueryRowxContext(ctx, `SELECT tenant_id, user_id, api_key_id FROM aias_signup($1, $2, $3, $4)`,
			email, name, auth.Hash(key), auth.DisplayPrefix(key))
		return row.Scan(&out.TenantID, &out.UserID, &out.APIKeyID)
	})
	if err != nil {
		return Signup{}, fmt.Errorf("sign up: %w", postgres.Classify(err))
	}
	return out, nil
}

func validate(email, name string) error {
	var fields []errs.FieldError
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		fields = append(fields, errs.FieldError{Path: "email", Message: "must be a plain email address"})
	}
	if name == "" || len(name) > 200 {
		fields = append(fields, errs.FieldError{Path: "tenant_name", Message: "must be 1 to 200 characters"})
	}
	if len(fields) > 0 {
		return errs.Validation("signup is not valid", fields...)
	}
	return nil
}

// Get reads the tenant the transaction is scoped to.
func Get(ctx context.Context, q postgres.Querier, id uuid.UUID) (Tenant, error) {
	var t Tenant
	err := q.GetContext(ctx, &t, `SELECT id, name, plan, status, created_at FROM tenants WHERE id = $1`, id)
	if postgres.IsNoRows(err) {
		return t, errs.NotFoundf("tenant not found")
	}
	if err != nil {
		return t, fmt.Errorf("get tenant: %w", postgres.Classify(err))
	}
	return t, nil
}
