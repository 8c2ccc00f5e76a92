package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
)

// retentionBatch bounds one delete, so retention never holds long locks.
const retentionBatch = 500

// ApplyRetention deletes each tenant's finished runs (their steps and
// artifacts go with them) and rejection-log rows older than its plan's
// retention_days, a batch at a time. Unfinished runs are never deleted.
func (s *Scheduler) ApplyRetention(ctx context.Context, now time.Time) (int, error) {
	if s.quotas == nil {
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
		days := s.quotas.Plans.Resolve(t.Plan).Limits.RetentionDays
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
		err := s.db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
			const runs = `DELETE FROM runs WHERE id IN (
			    SELECT id FROM runs WHERE tenant_id = $3 AND finished_at < $1 LIMIT $2)`
			res, err := q.ExecContext(ctx, runs, cutoff, retentionBatch, tenantID)
			if err != nil {
				return fmt.Errorf("delete expired runs: %w", postgres.Classify(err))
			}
			n, _ = res.RowsAffected()
			const rejections = `DELETE FROM webhook_rejections WHERE tenant_id = $2 AND created_at < $1`
			if _, err := q.ExecContext(ctx, rejections, cutoff, tenantID); err != nil {
				return fmt.Errorf("delete expired rejections: %w", postgres.Classify(err))
			}
			return nil
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
