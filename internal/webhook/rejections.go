package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/page"
	"aias/internal/postgres"
)

// Rejection reasons beyond the signature package's own.
const (
	ReasonBodyTooLarge = "body_too_large"
	ReasonRateLimited  = "rate_limited"
	ReasonBadRequest   = "bad_request"
)

// Rejection is one refused delivery to a known endpoint.
type Rejection struct {
	ID         uuid.UUID `db:"id" json:"id"`
	EndpointID uuid.UUID `db:"endpoint_id" json:"endpoint_id"`
	Reason     string    `db:"reason" json:"reason"`
	Detail     string    `db:"detail" json:"detail"`
	RequestID  string    `db:"request_id" json:"request_id"`
	SourceIP   string    `db:"source_ip" json:"source_ip"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// Reject records why a delivery was refused. It is best effort: the sender's
// answer does not wait on it succeeding.
func (in *Intake) Reject(ctx context.Context, t Target, r Rejection) {
	ctx = context.WithoutCancel(ctx)
	err := in.DB.InTenantTx(ctx, t.TenantID, func(q postgres.Querier) error {
		const insert = `INSERT INTO webhook_rejections (id, tenant_id, endpoint_id, reason, detail, request_id, source_ip)
		                VALUES ($1, $2, $3, $4, $5, $6, $7)`
		_, err := q.ExecContext(ctx, insert, uuid.New(), t.TenantID, t.EndpointID, r.Reason, truncate(r.Detail, 500), r.RequestID, r.SourceIP)
		return postgres.Classify(err)
	})
	if err != nil {
		in.log(ctx).Warn().Err(err).Msg("could not record a rejection")
	}
}

// Rejections lists an endpoint's recent rejections, newest first.
func Rejections(ctx context.Context, q postgres.Querier, endpointID uuid.UUID, p page.Request) ([]Rejection, string, error) {
	if _, err := Get(ctx, q, endpointID); err != nil {
		return nil, "", err
	}
	const list = `SELECT id, endpoint_id, reason, detail, request_id, source_ip, created_at FROM webhook_rejections
	               WHERE endpoint_id = $1 AND tenant_id = $6 AND (NOT $2 OR (created_at, id) < ($3, $4))
	               ORDER BY created_at DESC, id DESC LIMIT $5`
	var out []Rejection
	set, after, afterID := p.Args()
	if err := q.SelectContext(ctx, &out, list, endpointID, set, after, afterID, p.Fetch(), postgres.Tenant(q)); err != nil {
		return nil, "", fmt.Errorf("list rejections: %w", postgres.Classify(err))
	}
	out, next := page.Cut(out, p, func(r Rejection) page.Cursor { return page.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} })
	return out, next, nil
}

// ExpireRejections deletes the tenant's rejection-log rows older than
// cutoff (the plan's retention, applied by the scheduler).
func ExpireRejections(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, cutoff time.Time) error {
	const expire = `DELETE FROM webhook_rejections WHERE tenant_id = $2 AND created_at < $1`
	if _, err := q.ExecContext(ctx, expire, cutoff, tenantID); err != nil {
		return fmt.Errorf("delete expired rejections: %w", postgres.Classify(err))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
