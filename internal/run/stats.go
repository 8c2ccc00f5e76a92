package run

import (
	"context"
	"fmt"
	"time"

	"aias/internal/page"
	"aias/internal/postgres"
)

// MinuteCount is how many runs of one status were created in one minute.
type MinuteCount struct {
	Minute time.Time `db:"minute"`
	Status Status    `db:"status"`
	Count  int64     `db:"count"`
}

// PerMinute counts the transaction's tenant's runs created since since, by
// minute of creation and current status (the console's overview chart).
func PerMinute(ctx context.Context, q postgres.Querier, since time.Time) ([]MinuteCount, error) {
	const perMinute = `SELECT date_trunc('minute', created_at) AS minute, status, count(*) AS count
	                     FROM runs WHERE tenant_id = $1 AND created_at >= $2
	                    GROUP BY 1, 2 ORDER BY 1, 2`
	var out []MinuteCount
	if err := q.SelectContext(ctx, &out, perMinute, postgres.Tenant(q), since); err != nil {
		return nil, fmt.Errorf("count runs per minute: %w", postgres.Classify(err))
	}
	return out, nil
}

// CountMatching is how many runs a bulk call with filter f would act on if
// it started now (at most f.Limit), for a confirmation shown before it
// starts. The call itself may find fewer or more: runs keep moving.
func CountMatching(ctx context.Context, q postgres.Querier, f BulkFilter) (int, error) {
	var until time.Time
	if err := q.GetContext(ctx, &until, `SELECT now()`); err != nil {
		return 0, fmt.Errorf("read the clock: %w", postgres.Classify(err))
	}
	var after page.Cursor // the zero position precedes every run
	if f.After != nil {
		after = *f.After
	}
	var n int
	const count = `SELECT count(*) FROM (SELECT 1 FROM runs` + bulkWhere + ` LIMIT $9) AS matching`
	if err := q.GetContext(ctx, &n, count, append(f.args(q, until, after), f.Limit)...); err != nil {
		return 0, fmt.Errorf("count runs for bulk %s: %w", f.Action, postgres.Classify(err))
	}
	return n, nil
}
