// Package entitlement enforces what a tenant's plan allows, on the server,
// per tenant (not per user or key), on every path that creates something.
//
// Counted limits (workflows, endpoints) are checked inside the creating
// transaction under a per-tenant advisory lock, so concurrent creations
// serialize on the check and cannot overshoot the limit (Checker). Every
// new run, however it starts, is admitted by the Admitter (admit.go),
// where the monthly quota's rule is stated; its count is a Redis counter
// with Postgres as the record (quota.go, counter.go), as are the artifact
// bytes per month (artifacts.go). Slots bound the runs of a tenant
// executing at once (concurrency.go).
package entitlement

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
)

// Kind is a counted limit.
type Kind string

// The counted limits.
const (
	Workflows        Kind = "workflows"
	WebhookEndpoints Kind = "webhook_endpoints"
)

var countQuery = map[Kind]string{
	Workflows:        `SELECT count(*) FROM workflows WHERE tenant_id = $1 AND deleted_at IS NULL`,
	WebhookEndpoints: `SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL`,
}

// Checker answers what a tenant may do.
type Checker struct{ Plans *plan.Catalog }

// PlanOf reads the tenant's plan. A plan name the catalogue no longer has
// falls back to the default plan rather than to no limits at all.
func (c Checker) PlanOf(ctx context.Context, q postgres.Getter, tenantID uuid.UUID) (plan.Plan, error) {
	var name string
	if err := q.GetContext(ctx, &name, `SELECT plan FROM tenants WHERE id = $1`, tenantID); err != nil {
		return plan.Plan{}, fmt.Errorf("read plan of tenant %s: %w", tenantID, postgres.Classify(err))
	}
	return c.Resolve(name), nil
}

// Resolve maps a stored plan name to the catalogue's plan.
func (c Checker) Resolve(name string) plan.Plan {
	if p, ok := c.Plans.Get(name); ok {
		return p
	}
	return c.Plans.Default()
}

// Reserve checks that the tenant may create one more object of kind, in the
// caller's transaction. The advisory lock is held until that transaction
// ends, so a second creation waits for the first to commit and counts it.
func (c Checker) Reserve(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, kind Kind) (plan.Plan, error) {
	if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, tenantID.String()+"/"+string(kind)); err != nil {
		return plan.Plan{}, fmt.Errorf("lock %s count: %w", kind, postgres.Classify(err))
	}
	p, err := c.PlanOf(ctx, q, tenantID)
	if err != nil {
		return p, err
	}
	limit := int64(p.Limits.Workflows)
	if kind == WebhookEndpoints {
		limit = int64(p.Limits.WebhookEndpoints)
	}
	var n int64
	if err := q.GetContext(ctx, &n, countQuery[kind], tenantID); err != nil {
		return p, fmt.Errorf("count %s: %w", kind, postgres.Classify(err))
	}
	if !plan.Within(limit, n+1) {
		return p, PlanLimit(p, string(kind), limit)
	}
	return p, nil
}

// PlanLimit is the 402 answer naming the limit and the plan.
func PlanLimit(p plan.Plan, limit string, value int64) error {
	return errs.E(errs.PaymentRequired, "plan_limit",
		fmt.Sprintf("the %s plan allows %d %s; upgrade to create more", p.Name, value, limit))
}

// Feature is the 402 answer for a feature the plan lacks.
func Feature(p plan.Plan, what string) error {
	return errs.E(errs.PaymentRequired, "plan_limit", fmt.Sprintf("the %s plan does not include %s", p.Name, what))
}

// Usage is a tenant's consumption this period against its plan.
type Usage struct {
	Plan          string    `json:"plan"`
	Limits        any       `json:"limits"`
	PeriodStart   time.Time `json:"period_start"`
	ResetsAt      time.Time `json:"resets_at"`
	Workflows     int64     `json:"workflows"`
	Endpoints     int64     `json:"webhook_endpoints"`
	RunsThisMonth int64     `json:"runs_this_period"`
	ArtifactBytes int64     `json:"artifact_bytes_this_period"`
}

// UsageOf measures a tenant's usage in the calendar month (UTC) of now.
func (c Checker) UsageOf(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, now time.Time) (Usage, error) {
	p, err := c.PlanOf(ctx, q, tenantID)
	if err != nil {
		return Usage{}, err
	}
	start := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	u := Usage{Plan: p.Name, Limits: p.Limits, PeriodStart: start, ResetsAt: start.AddDate(0, 1, 0)}
	const measure = `
SELECT (SELECT count(*) FROM workflows WHERE tenant_id = $2 AND deleted_at IS NULL),
       (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $2 AND deleted_at IS NULL),
       (SELECT count(*) FROM runs WHERE tenant_id = $2 AND created_at >= $1),
       (SELECT coalesce(sum(size_bytes), 0) FROM artifacts WHERE tenant_id = $2 AND created_at >= $1)`
	row := q.QueryRowxContext(ctx, measure, start, tenantID)
	if err := row.Scan(&u.Workflows, &u.Endpoints, &u.RunsThisMonth, &u.ArtifactBytes); err != nil {
		return Usage{}, fmt.Errorf("measure usage: %w", postgres.Classify(err))
	}
	return u, nil
}
