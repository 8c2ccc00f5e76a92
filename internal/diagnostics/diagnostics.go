// Package diagnostics answers a tenant admin's "what is going on with my
// runs?": what waits, what fails and why, what senders got refused.
package diagnostics

import (
	"context"
	"fmt"
	"time"

	"aias/internal/postgres"
)

// Report is one tenant's picture.
type Report struct {
	Runs struct {
		Queued  int64 `db:"queued" json:"queued"`
		Running int64 `db:"running" json:"running"`
		Held    int64 `db:"held" json:"held"`
		Delayed int64 `db:"delayed" json:"delayed"` // a delay step's wait, or a retry not yet due
		Dead    int64 `db:"dead" json:"dead"`
	} `json:"runs"`
	OldestQueuedSeconds *float64   `json:"oldest_queued_seconds"`
	RecentFailures      []Failure  `json:"recent_failures"`
	Rejections          []Rejected `json:"rejections"`
	Since               time.Time  `json:"since"`
}

// Failure groups failed and dead runs of the window by error text.
type Failure struct {
	Error string    `db:"error" json:"error"`
	Count int64     `db:"count" json:"count"`
	Last  time.Time `db:"last" json:"last"`
}

// Rejected counts refused deliveries of the window by reason.
type Rejected struct {
	Reason string `db:"reason" json:"reason"`
	Count  int64  `db:"count" json:"count"`
}

// Window is how far back failures and rejections are summarized.
const Window = 24 * time.Hour

// Of builds the report for the transaction's tenant.
func Of(ctx context.Context, q postgres.Querier, now time.Time) (Report, error) {
	r := Report{Since: now.Add(-Window), RecentFailures: []Failure{}, Rejections: []Rejected{}}
	const counts = `
SELECT count(*) FILTER (WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= now())) AS queued,
       count(*) FILTER (WHERE status = 'running') AS running,
       count(*) FILTER (WHERE status = 'held') AS held,
       count(*) FILTER (WHERE status = 'delayed' OR (status = 'queued' AND next_attempt_at > now())) AS delayed,
       count(*) FILTER (WHERE status = 'dead') AS dead
  FROM runs WHERE tenant_id = $1 AND status IN ('queued', 'delayed', 'running', 'held', 'dead')`
	tenantID := postgres.Tenant(q)
	if err := q.GetContext(ctx, &r.Runs, counts, tenantID); err != nil {
		return r, fmt.Errorf("count runs: %w", postgres.Classify(err))
	}
	const oldest = `SELECT extract(epoch FROM now() - min(created_at))::float8 FROM runs WHERE tenant_id = $1 AND status = 'queued'`
	if err := q.GetContext(ctx, &r.OldestQueuedSeconds, oldest, tenantID); err != nil {
		return r, fmt.Errorf("oldest queued run: %w", postgres.Classify(err))
	}
	const failures = `
SELECT coalesce(error, '') AS error, count(*) AS count, max(finished_at) AS last FROM runs
 WHERE tenant_id = $2 AND status IN ('failed', 'dead') AND finished_at >= $1
 GROUP BY 1 ORDER BY count DESC, last DESC LIMIT 20`
	if err := q.SelectContext(ctx, &r.RecentFailures, failures, r.Since, tenantID); err != nil {
		return r, fmt.Errorf("group failures: %w", postgres.Classify(err))
	}
	const rejections = `SELECT reason, count(*) AS count FROM webhook_rejections
	                     WHERE tenant_id = $2 AND created_at >= $1 GROUP BY 1 ORDER BY 2 DESC`
	if err := q.SelectContext(ctx, &r.Rejections, rejections, r.Since, tenantID); err != nil {
		return r, fmt.Errorf("group rejections: %w", postgres.Classify(err))
	}
	return r, nil
}
