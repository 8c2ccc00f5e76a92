package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/artifact"
	"aias/internal/postgres"
	"aias/internal/step"
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

// writeStep upserts a step record, never overwriting a succeeded one, and
// returns the step's failed tries; counted adds one to them. With heartbeat
// it first records the run's progress and fails with errNotRunnable, writing
// nothing, when the run stopped being this attempt's: canceled, finished, or
// claimed again by a newer delivery.
//
// q may be the pool: aias_write_step (migration 00013) scopes its statement
// to the tenant, and the record is committed in one round trip.
func writeStep(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, s StepRecord, heartbeat, counted bool) (int, error) {
	const write = `SELECT running, tries FROM aias_write_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	return fencedWrite(ctx, q, s, "", write, tenantID, s.RunID, s.Attempt, heartbeat, s.Position, s.Name, s.Type, s.Status,
		nullJSON(s.Output), s.Error, logsJSON(s), s.StartedAt, s.FinishedAt, s.DurationMS, counted)
}

// writeArtifactStep writes a succeeded step with the one artifact it made,
// whose bytes fit in the artifact's row (artifact.InRow), in one statement
// (aias_write_artifact_step) with writeStep's heartbeat. A retried step that
// writes the same name again keeps the first copy.
func writeArtifactStep(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, s StepRecord, a step.Artifact) error {
	const write = `SELECT running, tries FROM aias_write_artifact_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
	                                                                  $14, $15, $16, $17, $18, $19)`
	_, err := fencedWrite(ctx, q, s, fmt.Sprintf(" with artifact %q", a.Name), write, tenantID, s.RunID, s.Attempt, s.Position,
		s.Name, s.Type, s.Status, nullJSON(s.Output), s.Error, logsJSON(s), s.StartedAt, s.FinishedAt, s.DurationMS,
		uuid.New(), a.Name, a.ContentType, len(a.Content), artifact.Sum(a.Content), a.Content)
	return err
}

// fencedWrite runs a step write that answers (running, tries): errNotRunnable
// when the run is no longer this attempt's to write, else the step's failed
// tries. what says what else was written, for the error.
func fencedWrite(ctx context.Context, q postgres.Querier, s StepRecord, what, write string, args ...any) (int, error) {
	var out struct {
		Running bool `db:"running"`
		Tries   int  `db:"tries"`
	}
	if err := q.GetContext(ctx, &out, write, args...); err != nil {
		return 0, fmt.Errorf("write step %s of run %s%s: %w", s.Name, s.RunID, what, postgres.Classify(err))
	}
	if !out.Running {
		return 0, fmt.Errorf("%w: run %s attempt %d is no longer running here", errNotRunnable, s.RunID, s.Attempt)
	}
	return out.Tries, nil
}

// logsJSON is the record's log lines, [] for none.
func logsJSON(s StepRecord) []byte {
	if s.Logs == nil {
		return []byte("[]")
	}
	return []byte(s.Logs)
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}
