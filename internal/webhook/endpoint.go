// Package webhook holds webhook endpoints and the intake: turning a verified
// delivery into a durable, queued run.
//
// An endpoint is reached at /api/webhooks/{tenant_id}/{token}. The token is
// 32 random bytes, shown once at creation; only its SHA-256 is stored. The
// lookup runs inside the tenant's own transaction (the tenant id is in the
// URL), so row-level security confines it to that tenant's endpoints, and is
// by hash: a timing difference can reveal nothing about a token's bytes.
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
)

// Verification is how an endpoint authenticates senders.
type Verification struct {
	Scheme string `json:"scheme"`
}

// SchemeToken trusts the URL token alone.
const SchemeToken = "token"

// Endpoint is a webhook endpoint (never with its token).
type Endpoint struct {
	ID           uuid.UUID    `db:"id" json:"id"`
	TenantID     uuid.UUID    `db:"tenant_id" json:"tenant_id"`
	WorkflowID   uuid.UUID    `db:"workflow_id" json:"workflow_id"`
	Name         string       `db:"name" json:"name"`
	TokenPrefix  string       `db:"token_prefix" json:"token_prefix"`
	Verification Verification `db:"verification" json:"verification"`
	Enabled      bool         `db:"enabled" json:"enabled"`
	CreatedAt    time.Time    `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time    `db:"updated_at" json:"updated_at"`
}

// Scan implements sql.Scanner for the jsonb column.
func (v *Verification) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("verification: cannot scan %T", src)
	}
	return json.Unmarshal(b, v)
}

// NewEndpoint is the request to create an endpoint.
type NewEndpoint struct {
	WorkflowID   uuid.UUID    `json:"workflow_id"`
	Name         string       `json:"name"`
	Verification Verification `json:"verification"`
}

func (n *NewEndpoint) validate() error {
	var fields []errs.FieldError
	if n.WorkflowID == uuid.Nil {
		fields = append(fields, errs.FieldError{Path: "workflow_id", Message: "is required"})
	}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || len(n.Name) > 200 {
		fields = append(fields, errs.FieldError{Path: "name", Message: "must be 1 to 200 characters"})
	}
	if n.Verification.Scheme == "" {
		n.Verification.Scheme = SchemeToken
	}
	if n.Verification.Scheme != SchemeToken {
		fields = append(fields, errs.FieldError{Path: "verification.scheme", Message: "must be one of: token"})
	}
	if len(fields) > 0 {
		return errs.Validation("webhook endpoint is not valid", fields...)
	}
	return nil
}

const columns = `id, tenant_id, workflow_id, name, token_prefix, verification, enabled, created_at, updated_at`

// Create stores a new endpoint and returns it with its token, shown only now.
func Create(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, n NewEndpoint) (Endpoint, string, error) {
	if err := n.validate(); err != nil {
		return Endpoint{}, "", err
	}
	// The foreign key alone would accept another tenant's workflow id:
	// constraint checks do not apply row-level security. Look it up first.
	var exists bool
	const wf = `SELECT EXISTS (SELECT 1 FROM workflows WHERE id = $1 AND deleted_at IS NULL)`
	if err := q.GetContext(ctx, &exists, wf, n.WorkflowID); err != nil {
		return Endpoint{}, "", fmt.Errorf("check workflow: %w", postgres.Classify(err))
	}
	if !exists {
		return Endpoint{}, "", errs.Validation("webhook endpoint is not valid",
			errs.FieldError{Path: "workflow_id", Message: "no such workflow"})
	}
	token := NewToken()
	verification, _ := json.Marshal(n.Verification)
	const insert = `
INSERT INTO webhook_endpoints (id, tenant_id, workflow_id, name, token_hash, token_prefix, verification)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING ` + columns
	var e Endpoint
	err := q.GetContext(ctx, &e, insert, uuid.New(), tenantID, n.WorkflowID, n.Name, HashToken(token), token[:6], verification)
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("insert endpoint: %w", postgres.Classify(err))
	}
	return e, token, nil
}

// Get reads one endpoint.
func Get(ctx context.Context, q postgres.Querier, id uuid.UUID) (Endpoint, error) {
	var e Endpoint
	err := q.GetContext(ctx, &e, `SELECT `+columns+` FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL`, id)
	if postgres.IsNoRows(err) {
		return e, errs.NotFoundf("webhook endpoint not found")
	}
	if err != nil {
		return e, fmt.Errorf("get endpoint %s: %w", id, postgres.Classify(err))
	}
	return e, nil
}

// List returns one page of endpoints, newest first.
func List(ctx context.Context, q postgres.Querier, p page.Request) ([]Endpoint, string, error) {
	var after time.Time
	var afterID uuid.UUID
	if p.After != nil {
		after, afterID = p.After.CreatedAt, p.After.ID
	}
	const list = `SELECT ` + columns + ` FROM webhook_endpoints
 WHERE deleted_at IS NULL AND (NOT $1 OR (created_at, id) < ($2, $3))
 ORDER BY created_at DESC, id DESC LIMIT $4`
	var es []Endpoint
	if err := q.SelectContext(ctx, &es, list, p.After != nil, after, afterID, p.Limit+1); err != nil {
		return nil, "", fmt.Errorf("list endpoints: %w", postgres.Classify(err))
	}
	if len(es) == 0 {
		return es, "", nil
	}
	n := min(len(es), p.Limit)
	return es[:n], page.Next(len(es), p.Limit, page.Cursor{CreatedAt: es[n-1].CreatedAt, ID: es[n-1].ID}), nil
}

// Patch is a partial update of an endpoint.
type Patch struct {
	Name    *string `json:"name"`
	Enabled *bool   `json:"enabled"`
}

// Update applies a patch.
func Update(ctx context.Context, q postgres.Querier, id uuid.UUID, p Patch) (Endpoint, error) {
	if p.Name != nil && (strings.TrimSpace(*p.Name) == "" || len(*p.Name) > 200) {
		return Endpoint{}, errs.Validation("webhook endpoint is not valid", errs.FieldError{Path: "name", Message: "must be 1 to 200 characters"})
	}
	const update = `
UPDATE webhook_endpoints SET name = coalesce($2, name), enabled = coalesce($3, enabled), updated_at = now()
 WHERE id = $1 AND deleted_at IS NULL RETURNING ` + columns
	var e Endpoint
	err := q.GetContext(ctx, &e, update, id, p.Name, p.Enabled)
	if postgres.IsNoRows(err) {
		return e, errs.NotFoundf("webhook endpoint not found")
	}
	if err != nil {
		return e, fmt.Errorf("update endpoint %s: %w", id, postgres.Classify(err))
	}
	return e, nil
}

// Delete retires an endpoint: its token stops working at once.
func Delete(ctx context.Context, q postgres.Querier, id uuid.UUID) error {
	res, err := q.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_at = now(), enabled = false, updated_at = now()
	                                 WHERE id = $1 AND deleted_at IS NULL`, id)
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
