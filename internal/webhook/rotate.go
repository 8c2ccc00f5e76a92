package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/signature"
)

// Patch is a partial update of an endpoint. A new verification block takes
// effect at once: the old scheme's secrets stop verifying, and a signed
// scheme gets a new secret (supplied or generated), returned once.
type Patch struct {
	Name         *string            `json:"name"`
	Enabled      *bool              `json:"enabled"`
	MaxBodyBytes *int64             `json:"max_body_bytes"`
	Verification *VerificationInput `json:"verification"`
}

// Update applies a patch.
func Update(ctx context.Context, q postgres.Querier, keys Sealer, id uuid.UUID, p Patch, l Limits) (Endpoint, Issued, error) {
	if err := p.validate(l); err != nil {
		return Endpoint{}, Issued{}, err
	}
	e, err := lockEndpoint(ctx, q, id)
	if err != nil {
		return Endpoint{}, Issued{}, err
	}
	var settings []byte
	var out Issued
	if v := p.Verification; v != nil {
		settings, _ = json.Marshal(v.Settings)
		// Secrets change only with the scheme or when one is supplied: a new
		// tolerance must not discard a provider-issued secret.
		if v.Scheme != e.Verification.Scheme || v.Secret != "" {
			if err := expireSecrets(ctx, q, id, 0); err != nil {
				return Endpoint{}, Issued{}, err
			}
			if out, err = issueSecret(ctx, q, keys, e, v.Scheme, v.Secret); err != nil {
				return Endpoint{}, Issued{}, err
			}
		}
	}
	const update = `
UPDATE webhook_endpoints SET name = coalesce($2, name), enabled = coalesce($3, enabled),
       max_body_bytes = CASE WHEN $4::bigint IS NULL THEN max_body_bytes WHEN $4 = 0 THEN NULL ELSE $4 END,
       verification = coalesce($5, verification), updated_at = now()
 WHERE id = $1 AND tenant_id = $6 AND deleted_at IS NULL`
	if _, err := q.ExecContext(ctx, update, id, p.Name, p.Enabled, p.MaxBodyBytes, settings, postgres.Tenant(q)); err != nil {
		return Endpoint{}, Issued{}, fmt.Errorf("update endpoint %s: %w", id, postgres.Classify(err))
	}
	e, err = Get(ctx, q, id)
	return e, out, err
}

func (p *Patch) validate(l Limits) error {
	var fields []errs.FieldError
	if p.Name != nil {
		*p.Name = strings.TrimSpace(*p.Name)
		if *p.Name == "" || len(*p.Name) > 200 {
			fields = append(fields, errs.FieldError{Path: "name", Message: "must be 1 to 200 characters"})
		}
	}
	if p.MaxBodyBytes != nil && *p.MaxBodyBytes != 0 { // 0 restores the operator's default
		fields = append(fields, checkBodyLimit(p.MaxBodyBytes, l)...)
	}
	if p.Verification != nil {
		if err := p.Verification.Normalize(); err != nil {
			if e, ok := errs.As(err); ok {
				fields = append(fields, e.Fields...)
			}
		}
	}
	if len(fields) > 0 {
		return errs.Validation(invalidEndpoint, fields...)
	}
	return nil
}

// issueSecret stores a new current secret for a signed scheme.
func issueSecret(ctx context.Context, q postgres.Querier, keys Sealer, e Endpoint, scheme, supplied string) (Issued, error) {
	if scheme == signature.Token {
		if supplied != "" {
			return Issued{}, errs.Validation(invalidEndpoint, errs.FieldError{Path: "verification.secret", Message: "the token scheme has no signing secret"})
		}
		return Issued{}, nil
	}
	display, err := newSigningSecret(scheme, supplied)
	if err != nil {
		return Issued{}, err
	}
	if err := addSecret(ctx, q, keys, e.TenantID, e.ID, display); err != nil {
		return Issued{}, err
	}
	return Issued{SigningSecret: display}, nil
}

// Rotation is the request of POST /webhook-endpoints/{id}/rotate.
type Rotation struct {
	// Grace is how long the previous secret (and token) keep working; nil
	// means DefaultGrace, 0 ends them at once.
	Grace *signature.Duration `json:"grace"`
	// Secret is a provider-issued replacement; empty means generate one.
	Secret string `json:"secret"`
	// Token also replaces the URL token (always, for the token scheme).
	Token bool `json:"token"`
}

// DefaultGrace keeps a rotated-out secret or token valid for a day.
const DefaultGrace = 24 * time.Hour

// MaxGrace bounds a rotation's grace period.
const MaxGrace = 30 * 24 * time.Hour

// Rotate issues a new signing secret (signed schemes) and/or URL token; the
// previous ones keep verifying for the grace period, so senders can switch
// without dropping deliveries. A header signed with both passes throughout.
func Rotate(ctx context.Context, q postgres.Querier, keys Sealer, id uuid.UUID, r Rotation) (Endpoint, Issued, error) {
	grace := DefaultGrace
	if r.Grace != nil {
		grace = time.Duration(*r.Grace)
	}
	if grace < 0 || grace > MaxGrace {
		return Endpoint{}, Issued{}, errs.Validation("rotation is not valid", errs.FieldError{Path: "grace", Message: "must be between 0s and 720h"})
	}
	e, err := lockEndpoint(ctx, q, id)
	if err != nil {
		return Endpoint{}, Issued{}, err
	}
	var out Issued
	if e.Verification.Scheme != signature.Token {
		if err := expireSecrets(ctx, q, id, grace); err != nil {
			return Endpoint{}, Issued{}, err
		}
		if out, err = issueSecret(ctx, q, keys, e, e.Verification.Scheme, r.Secret); err != nil {
			return Endpoint{}, Issued{}, err
		}
	} else if r.Secret != "" {
		return Endpoint{}, Issued{}, errs.Validation("rotation is not valid", errs.FieldError{Path: "secret", Message: "the token scheme has no signing secret"})
	}
	if r.Token || e.Verification.Scheme == signature.Token {
		if out.Token, err = rotateToken(ctx, q, id, grace); err != nil {
			return Endpoint{}, Issued{}, err
		}
	}
	e, err = Get(ctx, q, id)
	return e, out, err
}

// lockEndpoint reads an endpoint and locks its row until the transaction
// ends, so rotations and verification changes of one endpoint run one after
// another: two at once would each leave a "current" secret.
func lockEndpoint(ctx context.Context, q postgres.Querier, id uuid.UUID) (Endpoint, error) {
	const lock = `SELECT 1 FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 FOR UPDATE`
	if _, err := q.ExecContext(ctx, lock, id, postgres.Tenant(q)); err != nil {
		return Endpoint{}, fmt.Errorf("lock endpoint %s: %w", id, postgres.Classify(err))
	}
	return Get(ctx, q, id)
}

func rotateToken(ctx context.Context, q postgres.Querier, id uuid.UUID, grace time.Duration) (string, error) {
	// One previous token is kept: rotating again inside its grace would end
	// it early, breaking the promise made by the first rotation.
	var inGrace bool
	const check = `SELECT coalesce(previous_token_expires_at > now(), false) FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2`
	if err := q.GetContext(ctx, &inGrace, check, id, postgres.Tenant(q)); err != nil {
		return "", fmt.Errorf("check token grace: %w", postgres.Classify(err))
	}
	if inGrace && grace > 0 {
		return "", errs.E(errs.Conflict, "rotation_in_grace",
			"the previous URL token is still in its grace period; wait for it to end or rotate with grace 0s")
	}
	token := NewToken()
	const rotate = `
UPDATE webhook_endpoints
   SET previous_token_hash = token_hash, previous_token_expires_at = now() + $4::interval,
       token_hash = $2, token_prefix = $3, updated_at = now()
 WHERE id = $1 AND tenant_id = $5 AND deleted_at IS NULL`
	_, err := q.ExecContext(ctx, rotate, id, HashToken(token), token[:6], fmt.Sprintf("%d milliseconds", grace.Milliseconds()), postgres.Tenant(q))
	if err != nil {
		return "", fmt.Errorf("rotate token of endpoint %s: %w", id, postgres.Classify(err))
	}
	return token, nil
}
