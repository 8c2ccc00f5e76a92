package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/run"
)

// ReleaseHeld starts held runs, oldest first, as far as each tenant's quota
// now allows: after an upgrade, or when a new period begins.
func (s *Scheduler) ReleaseHeld(ctx context.Context, now time.Time) (int, error) {
	if s.admit == nil {
		return 0, nil
	}
	var tenants []struct {
		TenantID uuid.UUID `db:"tenant_id"`
		Plan     string    `db:"plan"`
	}
	if err := s.db.SelectContext(ctx, &tenants, `SELECT tenant_id, plan FROM aias_tenants_with_held_runs()`); err != nil {
		return 0, fmt.Errorf("find tenants with held runs: %w", postgres.Classify(err))
	}
	total := 0
	for _, t := range tenants {
		n, err := s.releaseTenant(ctx, t.TenantID, t.Plan, now)
		total += n
		if err != nil {
			return total, err
		}
	}
	if total > 0 {
		s.opt.Log.Info().Int("released", total).Msg("held runs released")
	}
	return total, nil
}

func (s *Scheduler) releaseTenant(ctx context.Context, tenantID uuid.UUID, planName string, now time.Time) (int, error) {
	var rs []run.Released
	err := s.db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		room, err := s.admit.Room(ctx, q, planName, now)
		if err != nil || room == 0 {
			return err
		}
		rs, err = run.ReleaseHeld(ctx, q, tenantID, min(room, 1000))
		return err
	})
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	s.admit.Released(ctx, tenantID, now)
	for i, r := range rs {
		// The first queue error ends the pass: with Redis away each further
		// enqueue would cost a timeout. The released runs are queued in
		// Postgres; the sweep enqueues them.
		if err := s.queue.EnqueueRun(ctx, tenantID, r.ID, r.MaxAttempts); err != nil {
			return len(rs), fmt.Errorf("released %d held runs; %d not enqueued (the sweep enqueues them): %w", len(rs), len(rs)-i, err)
		}
	}
	return len(rs), nil
}
