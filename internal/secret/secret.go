// Package secret stores tenants' integration secrets: write-only values that
// workflows use in http steps (secrets.NAME). Values are sealed with the
// operator's keys (internal/keyring), bound to tenant and name; no route ever
// returns one, lists show the last four characters only.
package secret

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/keyring"
	"aias/internal/postgres"
)

// Sealer encrypts and decrypts values at rest (internal/keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
	Primary() string
}

// Info describes a secret without revealing it.
type Info struct {
	Name      string    `db:"name" json:"name"`
	Hint      string    `db:"hint" json:"last4"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// MaxValueBytes bounds one secret's value.
const MaxValueBytes = 16 << 10

var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ValidName reports whether name can be a secret's name.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// AAD binds a sealed value to its tenant and name.
func AAD(tenantID uuid.UUID, name string) []byte {
	return keyring.AAD("tenant-secret", tenantID.String(), name)
}

// Put creates or replaces a secret.
func Put(ctx context.Context, q postgres.Querier, keys Sealer, tenantID uuid.UUID, name, value string) (Info, error) {
	var fields []errs.FieldError
	if !ValidName(name) {
		fields = append(fields, errs.FieldError{Path: "name", Message: "must match [A-Za-z_][A-Za-z0-9_]{0,63}"})
	}
	if value == "" || len(value) > MaxValueBytes {
		fields = append(fields, errs.FieldError{Path: "value", Message: fmt.Sprintf("must be 1 to %d bytes", MaxValueBytes)})
	}
	if len(fields) > 0 {
		return Info{}, errs.Validation("secret is not valid", fields...)
	}
	ct, err := keys.Seal([]byte(value), AAD(tenantID, name))
	if err != nil {
		return Info{}, fmt.Errorf("seal secret: %w", err)
	}
	const upsert = `
INSERT INTO tenant_secrets (tenant_id, name, ciphertext, key_id, hint) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, name) DO UPDATE
   SET ciphertext = EXCLUDED.ciphertext, key_id = EXCLUDED.key_id, hint = EXCLUDED.hint, updated_at = now()
RETURNING name, hint, created_at, updated_at`
	var info Info
	if err := q.GetContext(ctx, &info, upsert, tenantID, name, ct, keys.Primary(), hint(value)); err != nil {
		return Info{}, fmt.Errorf("store secret: %w", postgres.Classify(err))
	}
	return info, nil
}

// List describes every secret of the transaction's tenant, by name.
func List(ctx context.Context, q postgres.Querier) ([]Info, error) {
	out := []Info{}
	const list = `SELECT name, hint, created_at, updated_at FROM tenant_secrets WHERE tenant_id = $1 ORDER BY name`
	if err := q.SelectContext(ctx, &out, list, postgres.Tenant(q)); err != nil {
		return nil, fmt.Errorf("list secrets: %w", postgres.Classify(err))
	}
	return out, nil
}

// Delete removes a secret.
func Delete(ctx context.Context, q postgres.Querier, name string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM tenant_secrets WHERE name = $1 AND tenant_id = $2`, name, postgres.Tenant(q))
	if err != nil {
		return fmt.Errorf("delete secret: %w", postgres.Classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFoundf("secret not found")
	}
	return nil
}

// Load decrypts the named secrets of a tenant. A name that is not set is a
// NotFound error naming it; a value that does not open is Unavailable.
func Load(ctx context.Context, q postgres.Querier, keys Sealer, tenantID uuid.UUID, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	if len(names) == 0 {
		return out, nil
	}
	var rows []struct {
		Name       string `db:"name"`
		Ciphertext []byte `db:"ciphertext"`
	}
	const load = `SELECT name, ciphertext FROM tenant_secrets WHERE name = ANY($1) AND tenant_id = $2`
	if err := q.SelectContext(ctx, &rows, load, postgres.StringArray(names), tenantID); err != nil {
		return nil, fmt.Errorf("load secrets: %w", postgres.Classify(err))
	}
	for _, r := range rows {
		v, err := keys.Open(r.Ciphertext, AAD(tenantID, r.Name))
		if err != nil {
			return nil, errs.Wrap(err, errs.Unavailable, "secret_unavailable", fmt.Sprintf("secret %s cannot be decrypted", r.Name))
		}
		out[r.Name] = string(v)
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, errs.E(errs.NotFound, "secret_not_set", fmt.Sprintf("secret %s is not set", n))
		}
	}
	return out, nil
}

// hint is the last four characters (runes, so a multibyte character is
// never cut in half), shown to tell secrets apart; short values get none.
func hint(v string) string {
	r := []rune(v)
	if len(r) < 12 {
		return ""
	}
	return string(r[len(r)-4:])
}
