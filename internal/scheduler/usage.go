package scheduler

import (
	"context"
	"time"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/postgres"
)

// ReconcileUsage checks the monthly run counters in Redis against the runs
// Postgres counted and drops those that drifted; the next admission of such
// a tenant rebuilds its counter from the record.
func (s *Scheduler) ReconcileUsage(ctx context.Context, now time.Time) (int, error) {
	if s.quotas == nil || s.quotas.Quota == nil || s.quotas.Quota.Redis == nil {
		return 0, nil
	}
	n, err := s.quotas.Quota.Reconcile(ctx, now, func(tenantID uuid.UUID, start time.Time) (int64, error) {
		var used int64
		err := s.db.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
			used, err = entitlement.CountedSince(ctx, q, start)
			return err
		})
		return used, err
	})
	if n > 0 {
		s.opt.Log.Info().Int("counters", n).Msg("usage counters that drifted from Postgres dropped; they are rebuilt on next use")
	}
	return n, err
}
