package chaos

import (
	"context"
	"fmt"
	"time"

	"aias/internal/postgres"
)

// Outcome is the state of a set of acknowledged runs after recovery.
type Outcome struct {
	Lost       int            // missing, or not terminal by the deadline
	Missing    int            // acknowledged but no row at all
	Recovery   time.Duration  // from the end of the fault until every run was terminal
	Statuses   map[string]int // final status → runs
	MaxAttempt int
}

// settle waits until every run in ids is terminal (or the deadline passes)
// and reports the outcome. Runs are read as the schema owner, directly (not
// through the proxy the programs use), so settle works while Postgres is cut.
func (e *Env) settle(ctx context.Context, ids []string, faultEnd time.Time, limit time.Duration) (Outcome, error) {
	deadline := time.Now().Add(limit)
	for {
		o, err := e.outcome(ctx, ids)
		if err != nil {
			return o, err
		}
		if o.Lost == 0 {
			o.Recovery = max(0, time.Since(faultEnd))
			return o, nil
		}
		if time.Now().After(deadline) {
			o.Recovery = time.Since(faultEnd)
			return o, nil
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (e *Env) outcome(ctx context.Context, ids []string) (Outcome, error) {
	var rows []struct {
		Status  string `db:"status"`
		Attempt int    `db:"attempt"`
	}
	o := Outcome{Statuses: map[string]int{}}
	err := e.owner.SelectContext(ctx, &rows, `SELECT status, attempt FROM runs WHERE id = ANY($1::uuid[])`, postgres.StringArray(ids))
	if err != nil {
		return o, fmt.Errorf("read runs: %w", err)
	}
	o.Missing = len(ids) - len(rows)
	o.Lost = o.Missing
	for _, r := range rows {
		o.Statuses[r.Status]++
		o.MaxAttempt = max(o.MaxAttempt, r.Attempt)
		if !terminal(r.Status) {
			o.Lost++
		}
	}
	return o, nil
}

func terminal(status string) bool {
	switch status {
	case "succeeded", "failed", "dead", "canceled":
		return true
	}
	return false
}

// duplicateDeliveries counts delivery ids with more than one run on an endpoint.
func (e *Env) duplicateDeliveries(ctx context.Context, endpointID string) (int, error) {
	var n int
	err := e.owner.GetContext(ctx, &n, `SELECT count(*) FROM (SELECT delivery_id FROM runs WHERE endpoint_id = $1
		AND delivery_id IS NOT NULL GROUP BY delivery_id HAVING count(*) > 1) d`, endpointID)
	return n, err
}
