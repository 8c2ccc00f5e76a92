package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/run"
)

// counts tallies runs by outcome and fills the run half of a ledger.
func (b *bench) counts(ctx context.Context, ids []string, l *Ledger) error {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := b.e.owner.SelectContext(ctx, &rows, `SELECT status, count(*) AS n FROM runs WHERE id = ANY($1::uuid[]) GROUP BY status`,
		postgres.StringArray(ids)); err != nil {
		return err
	}
	l.Executes, l.Runs = true, len(ids)
	l.Completed, l.Failed, l.Running = 0, 0, 0
	for _, r := range rows {
		switch run.Status(r.Status) {
		case run.Succeeded:
			l.Completed += r.N
		case run.Failed, run.Dead, run.Canceled:
			l.Failed += r.N
		default:
			l.Running += r.N
		}
	}
	return nil
}

// waitRuns polls until every run of ids is terminal or d passes.
func (b *bench) waitRuns(ctx context.Context, ids []string, d time.Duration) error {
	return waitFor(ctx, d, func() (bool, error) {
		var n int
		err := b.e.owner.GetContext(ctx, &n, `SELECT count(*) FROM runs WHERE id = ANY($1::uuid[])
			AND status IN ('succeeded', 'failed', 'dead', 'canceled')`, postgres.StringArray(ids))
		return n == len(ids), err
	})
}

// finished is each succeeded run's finish time.
func (b *bench) finished(ctx context.Context, ids []string) (map[string]time.Time, error) {
	var rows []struct {
		ID string    `db:"id"`
		At time.Time `db:"finished_at"`
	}
	err := b.e.owner.SelectContext(ctx, &rows, `SELECT id::text AS id, finished_at FROM runs
		WHERE id = ANY($1::uuid[]) AND status = 'succeeded' AND finished_at IS NOT NULL`, postgres.StringArray(ids))
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.ID] = r.At
	}
	return out, err
}

// backlog stores n queued runs the way the intake does (one committed row
// each, batched in transactions of 100) and enqueues them, before any worker
// runs: what a drain starts from.
func (b *bench) backlog(ctx context.Context, f flow, phase string, n, padBytes int) ([]string, error) {
	tenant, wf, ep := uuid.MustParse(b.t.TenantID), uuid.MustParse(f.WorkflowID), uuid.MustParse(f.EndpointID)
	pad := strings.Repeat("x", padBytes)
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 100 {
		err := b.e.app.InTenantTx(ctx, tenant, func(q postgres.Querier) error {
			for i := start; i < min(start+100, n); i++ {
				id := fmt.Sprintf("%s-%d", phase, i)
				rid, _, err := run.Insert(ctx, q, run.New{TenantID: tenant, WorkflowID: wf, WorkflowVersion: f.Version, EndpointID: &ep,
					TriggerKind: run.TriggerWebhook, DeliveryID: id, MaxAttempts: 3, ContentType: "application/json",
					Body: fmt.Appendf(nil, `{"id":%q,"total":120,"pad":%q}`, id, pad), ReceivedAt: time.Now()})
				if err != nil {
					return err
				}
				ids = append(ids, rid.String())
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("backlog: %w", err)
		}
	}
	opt, err := queue.RedisOpt(b.e.redisURL)
	if err != nil {
		return nil, err
	}
	qc := queue.NewClient(opt)
	defer func() { _ = qc.Close() }()
	for _, id := range ids {
		if err := qc.EnqueueRun(ctx, tenant, uuid.MustParse(id), 3); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
