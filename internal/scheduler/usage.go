package scheduler

import (
	"context"
	"time"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/postgres"
)

// ReconcileUsage checks the monthly run and artifact-byte counters in Redis
// against what Postgres holds and drops those that drifted; the next use by
// such a tenant rebuilds its counter from the record.
func (s *Scheduler) ReconcileUsage(ctx context.Context, now time.Time) (int, error) {
	if s.admit == nil || s.admit.Quota == nil || s.admit.Quota.Redis == nil {
		return 0, nil
	}
	n, err := s.admit.Quota.Reconcile(ctx, now, s.tenantCount(ctx, entitlement.CountedSince))
	if err == nil && s.admit.Artifacts != nil {
		var m int
		m, err = s.admit.Artifacts.Reconcile(ctx, now, s.tenantCount(ctx, entitlement.StoredSince))
		n += m
	}
	if n > 0 {
		s.opt.Log.Info().Int("counters", n).Msg("usage counters that drifted from Postgres dropped; they are rebuilt on next use")
	}
	return n, err
}

// tenantCount reads one tenant's count of the record, scoped to the tenant.
func (s *Scheduler) tenantCount(ctx context.Context, count func(context.Context, postgres.Getter, time.Time) (int64, error)) func(uuid.UUID, time.Time) (int64, error) {
	return func(tenantID uuid.UUID, start time.Time) (int64, error) {
		return count(ctx, s.db.Scoped(tenantID), start)
	}
}
