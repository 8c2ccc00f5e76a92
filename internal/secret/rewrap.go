package secret

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"aias/internal/keyring"
	"aias/internal/postgres"
)

// Rewrap moves every tenant secret to the primary key-encryption key,
// re-encrypting only each value's data key. It runs as the schema owner (it
// spans tenants) and reports how many values moved. A secret set again
// while it runs keeps its new value: each write is a compare-and-set on the
// ciphertext read (keyring.RewrapAll).
func Rewrap(ctx context.Context, owner *postgres.DB, keys keyring.Rewrapper) (int, error) {
	var rows []struct {
		TenantID   uuid.UUID `db:"tenant_id"`
		Name       string    `db:"name"`
		Ciphertext []byte    `db:"ciphertext"`
	}
	const list = `SELECT tenant_id, name, ciphertext FROM tenant_secrets WHERE key_id <> $1`
	if err := owner.SelectContext(ctx, &rows, list, keys.Primary()); err != nil {
		return 0, fmt.Errorf("list tenant secrets: %w", postgres.Classify(err))
	}
	return keyring.RewrapAll(keys, len(rows), func(i int) keyring.Sealed {
		r := rows[i]
		return keyring.Sealed{Value: r.Ciphertext, AAD: AAD(r.TenantID, r.Name), Name: fmt.Sprintf("secret %s of tenant %s", r.Name, r.TenantID)}
	}, func(i int, ct []byte) (bool, error) {
		const update = `UPDATE tenant_secrets SET ciphertext = $3, key_id = $4 WHERE tenant_id = $1 AND name = $2 AND ciphertext = $5`
		res, err := owner.ExecContext(ctx, update, rows[i].TenantID, rows[i].Name, ct, keys.Primary(), rows[i].Ciphertext)
		if err != nil {
			return false, fmt.Errorf("store rewrapped secret: %w", postgres.Classify(err))
		}
		return updated(res)
	})
}

// updated reports whether a compare-and-set UPDATE found its row unchanged
// and wrote it.
func updated(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("rows affected: %w", err)
	}
	return n == 1, nil
}
