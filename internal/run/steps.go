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
  FROM run_steps WHERE run_id = $1 AND tenant_id = $2 ORDER BY position`
	var out []StepRecord
	if err := q.SelectContext(ctx, &out, list, runID, postgres.Tenant(q)); err != nil {
		return nil, fmt.Errorf("list steps of run %s: %w", runID, postgres.Classify(err))
	}
	return out, nil
}
