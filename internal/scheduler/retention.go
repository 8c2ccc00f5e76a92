package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/webhook"
)

// retentionBatch bounds one delete, so retention never holds long locks.
const retentionBatch = 500

// ApplyRetention deletes each tenant's finished runs (their steps and
// artifacts go with them) and rejection-log rows older than its plan's
// retention_days, a batch at a time. Unfinished runs are never deleted.
func (s *Scheduler) ApplyRetention(ctx context.Context, now time.Time) (int, error) {
	if s.admit == nil {
		return 0, nil
	}
	var tenants []struct {
		TenantID uuid.UUID `db:"tenant_id"`
		Plan     string    `db:"plan"`
	}
	if err := s.db.SelectContext(ctx, &tenants, `SELECT tenant_id, plan FROM aias_tenant_plans()`); err != nil {
		return 0, fmt.Errorf("list tenants for retention: %w", postgres.Classify(err))
	}
	total := 0
	for _, t := range tenants {
		days := s.admit.Plans.Resolve(t.Plan).Limits.RetentionDays
		if days < 1 {
			continue
		}
		n, err := s.expire(ctx, t.TenantID, now.AddDate(0, 0, -days))
		if err != nil {
			return total, err
		}
		total += n
	}
	if total > 0 {
		s.opt.Log.Info().Int("deleted", total).Msg("retention applied")
	}
	return total, nil
}

func (s *Scheduler) expire(ctx context.Context, tenantID uuid.UUID, cutoff time.Time) (int, error) {
	deleted := 0
	for {
		var n int64
		err := s.db.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
			if n, err = run.ExpireFinished(ctx, q, tenantID, cutoff, retentionBatch); err != nil {
				return err
			}
			return webhook.ExpireRejections(ctx, q, tenantID, cutoff)
		})
		if err != nil {
			return deleted, err
		}
		deleted += int(n)
		if n < retentionBatch {
			return deleted, nil
		}
	}
}
