package entitlement

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"aias/internal/plan"
	"aias/internal/postgres"
)

// ArtifactBytes meters the artifact bytes each tenant stores per calendar
// month against its plan, on Quota's scheme: a counter in Redis (one INCRBY
// per artifact step), Postgres the record, a missing counter rebuilt from
// the artifacts stored this period, Postgres alone when Redis is away.
// Summing the period's artifacts on every artifact step instead cost a scan
// that grew with the tenant's artifacts all month.
type ArtifactBytes struct {
	Redis  redis.UniversalClient
	Prefix string // default "aias:artifact-bytes:"
}

// artifactSlack is how far a tenant's byte counter may run ahead of the
// bytes committed before Reconcile calls it drifted: artifacts of steps in
// flight are counted before they commit.
const artifactSlack = 64 << 20

// Reserve counts n more artifact bytes for the tenant this period. It
// refuses them (ok false, nothing counted) when they would pass the plan's
// limit. undo gives the bytes back when the artifacts do not commit. q is
// the tenant's transaction; it is read only to rebuild the counter.
func (m *ArtifactBytes) Reserve(ctx context.Context, q postgres.Getter, tenantID uuid.UUID, p plan.Plan, n int64, now time.Time) (undo func(), ok bool, err error) {
	limit := p.Limits.ArtifactBytesPerMonth
	if limit == plan.Unlimited || n == 0 {
		return func() {}, true, nil
	}
	start := PeriodStart(now)
	total, undo, err := m.counter().add(ctx, tenantID, start, n, func() (int64, error) { return StoredSince(ctx, q, start) })
	if err != nil {
		return nil, false, err
	}
	if total > limit {
		undo()
		return nil, false, nil
	}
	return undo, true, nil
}

// Reconcile drops the byte counters of this period that drifted from the
// artifacts Postgres holds (see Quota.Reconcile); stored reads one tenant's
// bytes under its own tenant transaction.
func (m *ArtifactBytes) Reconcile(ctx context.Context, now time.Time, stored func(tenantID uuid.UUID, start time.Time) (int64, error)) (int, error) {
	return m.counter().reconcile(ctx, now, stored, artifactSlack)
}

func (m *ArtifactBytes) counter() periodCounter {
	prefix := m.Prefix
	if prefix == "" {
		prefix = "aias:artifact-bytes:"
	}
	return periodCounter{Redis: m.Redis, Prefix: prefix}
}

// StoredSince is the artifact bytes the transaction's tenant stored since
// start.
func StoredSince(ctx context.Context, q postgres.Getter, start time.Time) (int64, error) {
	var n int64
	const sum = `SELECT coalesce(sum(size_bytes), 0) FROM artifacts WHERE tenant_id = $2 AND created_at >= $1`
	if err := q.GetContext(ctx, &n, sum, start, postgres.Tenant(q)); err != nil {
		return 0, fmt.Errorf("measure artifact bytes this period: %w", postgres.Classify(err))
	}
	return n, nil
}
