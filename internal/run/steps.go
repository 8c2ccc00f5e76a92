package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
)

// Step statuses.
const (
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped"
)

// StepRecord is the durable record of one step of one run. A step's row is
// rewritten by each attempt until the step succeeds; a succeeded row is never
// rewritten, which is what makes retries resume rather than repeat.
type StepRecord struct {
	RunID      uuid.UUID       `db:"run_id" json:"-"`
	Position   int             `db:"position" json:"position"`
	Name       string          `db:"name" json:"name"`
	Type       string          `db:"type" json:"type"`
	Status     string          `db:"status" json:"status"`
	Attempt    int             `db:"attempt" json:"attempt"`
	Output     json.RawMessage `db:"output" json:"output"`
	Error      *string         `db:"error" json:"error"`
	Logs       json.RawMessage `db:"logs" json:"logs"`
	StartedAt  *time.Time      `db:"started_at" json:"started_at"`
	FinishedAt *time.Time      `db:"finished_at" json:"finished_at"`
	DurationMS int64           `db:"duration_ms" json:"duration_ms"`
	Tries      int             `db:"tries" json:"failures"` // failed attempts so far
}

// Steps lists a run's step records in workflow order.
func Steps(ctx context.Context, q postgres.Querier, runID uuid.UUID) ([]StepRecord, error) {
	const list = `
SELECT run_id, position, name, type, status, attempt, coalesce(output, 'null') AS output, error, logs, started_at, finished_at,
       duration_ms, tries
  FROM run_steps WHERE run_id = $1 ORDER BY position`
	var out []StepRecord
	if err := q.SelectContext(ctx, &out, list, runID); err != nil {
		return nil, fmt.Errorf("list steps of run %s: %w", runID, postgres.Classify(err))
	}
	return out, nil
}

// writeStep upserts a step record, never overwriting a succeeded one, and
// returns the step's failed tries; counted adds one to them.
func writeStep(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, s StepRecord, counted bool) (int, error) {
	const upsert = `
INSERT INTO run_steps (tenant_id, run_id, position, name, type, status, attempt, output, error, logs,
                       started_at, finished_at, duration_ms, tries)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $14 THEN 1 ELSE 0 END)
ON CONFLICT (run_id, position) DO UPDATE
   SET status = EXCLUDED.status, attempt = EXCLUDED.attempt, output = EXCLUDED.output,
       error = EXCLUDED.error, logs = EXCLUDED.logs, started_at = EXCLUDED.started_at,
       finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms,
       tries = run_steps.tries + EXCLUDED.tries
 WHERE run_steps.status <> 'succeeded'
RETURNING tries`
	logs := s.Logs
	if logs == nil {
		logs = json.RawMessage("[]")
	}
	var tries int
	err := q.GetContext(ctx, &tries, upsert, tenantID, s.RunID, s.Position, s.Name, s.Type, s.Status, s.Attempt,
		nullJSON(s.Output), s.Error, logs, s.StartedAt, s.FinishedAt, s.DurationMS, counted)
	if postgres.IsNoRows(err) {
		return 0, nil // the step had succeeded already; its record stays
	}
	if err != nil {
		return 0, fmt.Errorf("write step %s of run %s: %w", s.Name, s.RunID, postgres.Classify(err))
	}
	return tries, nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}
