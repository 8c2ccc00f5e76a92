package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/signature"
)

// Sealer encrypts and decrypts secrets at rest (internal/keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
	Primary() string
}

// SecretInfo describes a signing secret without revealing it.
type SecretInfo struct {
	ID        uuid.UUID  `db:"id" json:"id"`
	Hint      string     `db:"hint" json:"hint"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt *time.Time `db:"expires_at" json:"expires_at"`
}

type sealedSecret struct {
	ID         uuid.UUID `db:"id"`
	Ciphertext []byte    `db:"ciphertext"`
}

// secretAAD binds a sealed secret to its row: copied elsewhere, it does not open.
func secretAAD(tenantID, endpointID, secretID uuid.UUID) []byte {
	return keyring.AAD("endpoint-secret", tenantID.String(), endpointID.String(), secretID.String())
}

// newSigningSecret checks a tenant-supplied secret, or generates one, and
// returns its display form (what the tenant configures at the sender).
func newSigningSecret(scheme, supplied string) (string, error) {
	if supplied == "" {
		return signature.NewSecret(scheme)
	}
	if len(supplied) > 512 {
		return "", errs.Validation("webhook endpoint is not valid", errs.FieldError{Path: "verification.secret", Message: "at most 512 characters"})
	}
	if _, err := signature.KeyBytes(scheme, supplied); err != nil {
		return "", errs.Validation("webhook endpoint is not valid", errs.FieldError{Path: "verification.secret", Message: errs.MessageOf(err)})
	}
	return supplied, nil
}

// addSecret seals and stores a signing secret as the endpoint's current one.
func addSecret(ctx context.Context, q postgres.Querier, keys Sealer, tenantID, endpointID uuid.UUID, display string) error {
	id := uuid.New()
	ct, err := keys.Seal([]byte(display), secretAAD(tenantID, endpointID, id))
	if err != nil {
		return fmt.Errorf("seal signing secret: %w", err)
	}
	const insert = `INSERT INTO endpoint_secrets (id, tenant_id, endpoint_id, ciphertext, key_id, hint) VALUES ($1, $2, $3, $4, $5, $6)`
	if _, err := q.ExecContext(ctx, insert, id, tenantID, endpointID, ct, keys.Primary(), hint(display)); err != nil {
		return fmt.Errorf("store signing secret: %w", postgres.Classify(err))
	}
	return nil
}

// expireSecrets ends the validity of the endpoint's current secrets after grace.
func expireSecrets(ctx context.Context, q postgres.Querier, endpointID uuid.UUID, grace time.Duration) error {
	const expire = `UPDATE endpoint_secrets SET expires_at = now() + $2::interval
	                 WHERE endpoint_id = $1 AND tenant_id = $3 AND (expires_at IS NULL OR expires_at > now() + $2::interval)`
	if _, err := q.ExecContext(ctx, expire, endpointID, fmt.Sprintf("%d milliseconds", grace.Milliseconds()), postgres.Tenant(q)); err != nil {
		return fmt.Errorf("expire signing secrets: %w", postgres.Classify(err))
	}
	return nil
}

// SecretsOf describes an endpoint's secrets that still verify.
func SecretsOf(ctx context.Context, q postgres.Querier, endpointID uuid.UUID) ([]SecretInfo, error) {
	out := []SecretInfo{}
	const list = `SELECT id, hint, created_at, expires_at FROM endpoint_secrets
	               WHERE endpoint_id = $1 AND tenant_id = $2 AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC`
	if err := q.SelectContext(ctx, &out, list, endpointID, postgres.Tenant(q)); err != nil {
		return nil, fmt.Errorf("list signing secrets: %w", postgres.Classify(err))
	}
	return out, nil
}

// openSecrets decrypts sealed secrets into HMAC keys. A secret that does not
// open is an operator problem (a missing key-encryption key): the delivery is
// answered 503, never accepted unverified.
func openSecrets(keys Sealer, scheme string, tenantID, endpointID uuid.UUID, sealed []sealedSecret) ([]signature.Secret, error) {
	out := make([]signature.Secret, 0, len(sealed))
	for _, s := range sealed {
		display, err := keys.Open(s.Ciphertext, secretAAD(tenantID, endpointID, s.ID))
		if err != nil {
			return nil, errs.Wrap(err, errs.Unavailable, "secret_unavailable", "the endpoint's signing secret cannot be read")
		}
		key, err := signature.KeyBytes(scheme, string(display))
		if err != nil {
			return nil, errs.Wrap(err, errs.Unavailable, "secret_unavailable", "the endpoint's signing secret is unusable")
		}
		out = append(out, key)
	}
	return out, nil
}

func hint(display string) string {
	r := []rune(display)
	if len(r) <= 8 {
		return ""
	}
	return string(r[len(r)-4:])
}

// RewrapSecrets moves every endpoint signing secret to the primary
// key-encryption key. It runs as the schema owner (it spans tenants). A row
// rewritten while it runs keeps what was written (a compare-and-set on the
// ciphertext read, keyring.RewrapAll).
func RewrapSecrets(ctx context.Context, owner *postgres.DB, keys keyring.Rewrapper) (int, error) {
	var rows []struct {
		ID         uuid.UUID `db:"id"`
		TenantID   uuid.UUID `db:"tenant_id"`
		EndpointID uuid.UUID `db:"endpoint_id"`
		Ciphertext []byte    `db:"ciphertext"`
	}
	const list = `SELECT id, tenant_id, endpoint_id, ciphertext FROM endpoint_secrets WHERE key_id <> $1`
	if err := owner.SelectContext(ctx, &rows, list, keys.Primary()); err != nil {
		return 0, fmt.Errorf("list signing secrets: %w", postgres.Classify(err))
	}
	return keyring.RewrapAll(keys, len(rows), func(i int) keyring.Sealed {
		r := rows[i]
		return keyring.Sealed{Value: r.Ciphertext, AAD: secretAAD(r.TenantID, r.EndpointID, r.ID), Name: "signing secret " + r.ID.String()}
	}, func(i int, ct []byte) (bool, error) {
		const update = `UPDATE endpoint_secrets SET ciphertext = $2, key_id = $3 WHERE id = $1 AND ciphertext = $4`
		res, err := owner.ExecContext(ctx, update, rows[i].ID, ct, keys.Primary(), rows[i].Ciphertext)
		if err != nil {
			return false, fmt.Errorf("store rewrapped signing secret: %w", postgres.Classify(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, fmt.Errorf("rows affected: %w", err)
		}
		return n == 1, nil
	})
}
