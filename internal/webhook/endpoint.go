// Package webhook holds webhook endpoints and the intake: turning a verified
// delivery into a durable, queued run.
//
// An endpoint is reached at /api/webhooks/{tenant_id}/{token}. The token is
// 32 random bytes, shown once at creation or rotation; only its SHA-256 is
// stored. The lookup runs inside the tenant's own transaction (the tenant id
// is in the URL), so row-level security confines it to that tenant's
// endpoints, and is by hash: a timing difference reveals nothing about a
// token's bytes. Endpoints may also require a signature (internal/signature);
// their signing secrets are sealed with the operator's keys (internal/keyring).
package webhook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/page"
	"aias/internal/postgres"
	"aias/internal/signature"
)

// Endpoint is a webhook endpoint (never with its token or secrets).
type Endpoint struct {
	ID             uuid.UUID          `db:"id" json:"id"`
	TenantID       uuid.UUID          `db:"tenant_id" json:"tenant_id"`
	WorkflowID     uuid.UUID          `db:"workflow_id" json:"workflow_id"`
	Name           string             `db:"name" json:"name"`
	TokenPrefix    string             `db:"token_prefix" json:"token_prefix"`
	RawSettings    []byte             `db:"verification" json:"-"`
	Verification   signature.Settings `db:"-" json:"verification"`
	MaxBodyBytes   *int64             `db:"max_body_bytes" json:"max_body_bytes"`
	Enabled        bool               `db:"enabled" json:"enabled"`
	CreatedAt      time.Time          `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time          `db:"updated_at" json:"updated_at"`
	SigningSecrets []SecretInfo       `db:"-" json:"signing_secrets,omitempty"`
}

func (e *Endpoint) decode() error {
	if err := json.Unmarshal(e.RawSettings, &e.Verification); err != nil {
		return fmt.Errorf("decode verification of endpoint %s: %w", e.ID, err)
	}
	return nil
}

// VerificationInput is the verification block of a request: the settings
// and, optionally, a provider-issued signing secret.
type VerificationInput struct {
	signature.Settings
	Secret string `json:"secret,omitempty"`
}

// Limits bound what an endpoint may be configured with.
type Limits struct {
	MaxBodyBytes int64 // the largest per-endpoint body limit allowed
}

// NewEndpoint is the request to create an endpoint.
type NewEndpoint struct {
	WorkflowID   uuid.UUID         `json:"workflow_id"`
	Name         string            `json:"name"`
	Verification VerificationInput `json:"verification"`
	MaxBodyBytes *int64            `json:"max_body_bytes"`
}

// Issued is what the tenant sees once: the token and signing secret.
type Issued struct {
	Token         string `json:"token,omitempty"`
	SigningSecret string `json:"signing_secret,omitempty"`
}

const columns = `id, tenant_id, workflow_id, name, token_prefix, verification, max_body_bytes, enabled, created_at, updated_at`

var invalidEndpoint = "webhook endpoint is not valid"

func (n *NewEndpoint) validate(l Limits) error {
	var fields []errs.FieldError
	if n.WorkflowID == uuid.Nil {
		fields = append(fields, errs.FieldError{Path: "workflow_id", Message: "is required"})
	}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || len(n.Name) > 200 {
		fields = append(fields, errs.FieldError{Path: "name", Message: "must be 1 to 200 characters"})
	}
	fields = append(fields, checkBodyLimit(n.MaxBodyBytes, l)...)
	if err := n.Verification.Normalize(); err != nil {
		if e, ok := errs.As(err); ok {
			fields = append(fields, e.Fields...)
		}
	}
	if len(fields) > 0 {
		return errs.Validation(invalidEndpoint, fields...)
	}
	return nil
}

func checkBodyLimit(v *int64, l Limits) []errs.FieldError {
	if v == nil || (*v >= 1024 && *v <= l.MaxBodyBytes) {
		return nil
	}
	return []errs.FieldError{{Path: "max_body_bytes", Message: fmt.Sprintf("must be between 1024 and %d", l.MaxBodyBytes)}}
}

// Create stores a new endpoint and returns it with its token (and signing
// secret, for signed schemes), shown only now.
func Create(ctx context.Context, q postgres.Querier, keys Sealer, tenantID uuid.UUID, n NewEndpoint, l Limits) (Endpoint, Issued, error) {
	if err := n.validate(l); err != nil {
		return Endpoint{}, Issued{}, err
	}
	if err := workflowVisible(ctx, q, n.WorkflowID); err != nil {
		return Endpoint{}, Issued{}, err
	}
	var out Issued
	var err error
	if n.Verification.Scheme != signature.Token {
		if out.SigningSecret, err = newSigningSecret(n.Verification.Scheme, n.Verification.Secret); err != nil {
			return Endpoint{}, Issued{}, err
		}
	}
	out.Token = NewToken()
	settings, _ := json.Marshal(n.Verification.Settings)
	const insert = `
INSERT INTO webhook_endpoints (id, tenant_id, workflow_id, name, token_hash, token_prefix, verification, max_body_bytes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING ` + columns
	var e Endpoint
	err = q.GetContext(ctx, &e, insert, uuid.New(), tenantID, n.WorkflowID, n.Name, HashToken(out.Token), out.Token[:6], settings, n.MaxBodyBytes)
	if err != nil {
		return Endpoint{}, Issued{}, fmt.Errorf("insert endpoint: %w", postgres.Classify(err))
	}
	if out.SigningSecret != "" {
		if err := addSecret(ctx, q, keys, tenantID, e.ID, out.SigningSecret); err != nil {
			return Endpoint{}, Issued{}, err
		}
	}
	return e, out, e.decode()
}

// workflowVisible checks a workflow id under row-level security: the foreign
// key alone would accept another tenant's workflow (constraint checks do not
// apply RLS).
func workflowVisible(ctx context.Context, q postgres.Querier, id uuid.UUID) error {
	var exists bool
	const wf = `SELECT EXISTS (SELECT 1 FROM workflows WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL)`
	if err := q.GetContext(ctx, &exists, wf, id, postgres.Tenant(q)); err != nil {
		return fmt.Errorf("check workflow: %w", postgres.Classify(err))
	}
	if !exists {
		return errs.Validation(invalidEndpoint, errs.FieldError{Path: "workflow_id", Message: "no such workflow"})
	}
	return nil
}

// Get reads one endpoint with the descriptions of its live signing secrets.
func Get(ctx context.Context, q postgres.Querier, id uuid.UUID) (Endpoint, error) {
	var e Endpoint
	const get = `SELECT ` + columns + ` FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`
	err := q.GetContext(ctx, &e, get, id, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return e, errs.NotFoundf("webhook endpoint not found")
	}
	if err != nil {
		return e, fmt.Errorf("get endpoint %s: %w", id, postgres.Classify(err))
	}
	if e.SigningSecrets, err = SecretsOf(ctx, q, id); err != nil {
		return e, err
	}
	return e, e.decode()
}

// List returns one page of endpoints, newest first.
func List(ctx context.Context, q postgres.Querier, p page.Request) ([]Endpoint, string, error) {
	const list = `SELECT ` + columns + ` FROM webhook_endpoints
 WHERE tenant_id = $5 AND deleted_at IS NULL AND (NOT $1 OR (created_at, id) < ($2, $3))
 ORDER BY created_at DESC, id DESC LIMIT $4`
	var es []Endpoint
	set, after, afterID := p.Args()
	if err := q.SelectContext(ctx, &es, list, set, after, afterID, p.Fetch(), postgres.Tenant(q)); err != nil {
		return nil, "", fmt.Errorf("list endpoints: %w", postgres.Classify(err))
	}
	for i := range es {
		if err := es[i].decode(); err != nil {
			return nil, "", err
		}
	}
	es, next := page.Cut(es, p, func(e Endpoint) page.Cursor { return page.Cursor{CreatedAt: e.CreatedAt, ID: e.ID} })
	return es, next, nil
}

// Delete retires an endpoint: its token stops working at once.
func Delete(ctx context.Context, q postgres.Querier, id uuid.UUID) error {
	const del = `UPDATE webhook_endpoints SET deleted_at = now(), enabled = false, updated_at = now()
	              WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`
	res, err := q.ExecContext(ctx, del, id, postgres.Tenant(q))
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, postgres.Classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFoundf("webhook endpoint not found")
	}
	return nil
}

// NewToken returns a fresh URL token.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("webhook: system random source failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is what the database stores for a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// URL is the absolute intake URL of an endpoint.
func URL(publicBase string, tenantID uuid.UUID, token string) string {
	return strings.TrimRight(publicBase, "/") + "/api/webhooks/" + tenantID.String() + "/" + token
}
