package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/page"
	"aias/internal/postgres"
)

// Workflow is a stored workflow with its current definition.
type Workflow struct {
	ID         uuid.UUID       `db:"id" json:"id"`
	Name       string          `db:"name" json:"name"`
	Version    int             `db:"current_version" json:"version"`
	Enabled    bool            `db:"enabled" json:"enabled"`
	CreatedAt  time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt  time.Time       `db:"updated_at" json:"updated_at"`
	Definition json.RawMessage `db:"definition" json:"definition"`
}

// Version is one immutable version of a workflow.
type Version struct {
	WorkflowID uuid.UUID       `db:"workflow_id" json:"workflow_id"`
	Version    int             `db:"version" json:"version"`
	CreatedAt  time.Time       `db:"created_at" json:"created_at"`
	Definition json.RawMessage `db:"definition" json:"definition"`
}

// selectWorkflow reads live workflows; $1 is the tenant.
const selectWorkflow = `
SELECT w.id, w.name, w.current_version, w.enabled, w.created_at, w.updated_at, v.definition
  FROM workflows w
  JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version
 WHERE w.tenant_id = $1 AND w.deleted_at IS NULL`

// Create stores a validated definition as version 1 of a new workflow.
func Create(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, d Definition) (Workflow, error) {
	id := uuid.New()
	const insert = `INSERT INTO workflows (id, tenant_id, name, current_version) VALUES ($1, $2, $3, 1)`
	if _, err := q.ExecContext(ctx, insert, id, tenantID, d.Name); err != nil {
		return Workflow{}, nameTaken(err, d.Name)
	}
	if err := insertVersion(ctx, q, tenantID, id, 1, d); err != nil {
		return Workflow{}, err
	}
	if err := setSchedule(ctx, q, id, d.Schedule, time.Now()); err != nil {
		return Workflow{}, err
	}
	return Get(ctx, q, id)
}

// Update stores d as the next version of workflow id.
func Update(ctx context.Context, q postgres.Querier, tenantID, id uuid.UUID, d Definition) (Workflow, error) {
	const bump = `
UPDATE workflows SET current_version = current_version + 1, name = $2, updated_at = now()
 WHERE id = $1 AND tenant_id = $3 AND deleted_at IS NULL
RETURNING current_version`
	var version int
	err := q.GetContext(ctx, &version, bump, id, d.Name, tenantID)
	if postgres.IsNoRows(err) {
		return Workflow{}, errs.NotFoundf("workflow not found")
	}
	if err != nil {
		return Workflow{}, nameTaken(err, d.Name)
	}
	if err := insertVersion(ctx, q, tenantID, id, version, d); err != nil {
		return Workflow{}, err
	}
	if err := setSchedule(ctx, q, id, d.Schedule, time.Now()); err != nil {
		return Workflow{}, err
	}
	return Get(ctx, q, id)
}

func insertVersion(ctx context.Context, q postgres.Querier, tenantID, id uuid.UUID, version int, d Definition) error {
	const insert = `INSERT INTO workflow_versions (tenant_id, workflow_id, version, definition) VALUES ($1, $2, $3, $4)`
	if _, err := q.ExecContext(ctx, insert, tenantID, id, version, d.JSON()); err != nil {
		return fmt.Errorf("insert workflow version: %w", postgres.Classify(err))
	}
	return nil
}

// setSchedule mirrors the saved version's schedule on the workflow row,
// where the leading scheduler finds due ticks by schedule_next_at. A version
// that keeps the cron expression and time zone keeps the next tick; a new or
// changed schedule starts at its first tick after now; no schedule clears both.
func setSchedule(ctx context.Context, q postgres.Querier, id uuid.UUID, s *Schedule, now time.Time) error {
	var (
		raw  *string // jsonb
		next *time.Time
	)
	if s != nil {
		c, err := s.ParseCron()
		if err != nil {
			return errs.Validation("workflow definition is invalid", errs.FieldError{Path: "schedule", Message: err.Error()})
		}
		if t := c.Next(now); !t.IsZero() {
			next = &t
		}
		b, _ := json.Marshal(s)
		raw = new(string(b))
	}
	const set = `
UPDATE workflows SET schedule = $2::jsonb,
       schedule_next_at = CASE
         WHEN $2::jsonb IS NULL THEN NULL
         WHEN schedule->>'cron' = $2::jsonb->>'cron'
          AND coalesce(schedule->>'timezone', '') = coalesce($2::jsonb->>'timezone', '') THEN schedule_next_at
         ELSE $3 END
 WHERE id = $1 AND tenant_id = $4`
	if _, err := q.ExecContext(ctx, set, id, raw, next, postgres.Tenant(q)); err != nil {
		return fmt.Errorf("set schedule of workflow %s: %w", id, postgres.Classify(err))
	}
	return nil
}

func nameTaken(err error, name string) error {
	if postgres.IsUniqueViolation(err) {
		return errs.Wrap(err, errs.Conflict, "name_taken", fmt.Sprintf("a workflow named %q already exists", name))
	}
	return fmt.Errorf("write workflow: %w", postgres.Classify(err))
}

// Get reads a workflow with its current definition.
func Get(ctx context.Context, q postgres.Querier, id uuid.UUID) (Workflow, error) {
	var w Workflow
	err := q.GetContext(ctx, &w, selectWorkflow+` AND w.id = $2`, postgres.Tenant(q), id)
	if postgres.IsNoRows(err) {
		return w, errs.NotFoundf("workflow not found")
	}
	if err != nil {
		return w, fmt.Errorf("get workflow %s: %w", id, postgres.Classify(err))
	}
	return w, nil
}

// GetByName reads a live workflow by its name.
func GetByName(ctx context.Context, q postgres.Querier, name string) (Workflow, error) {
	var w Workflow
	err := q.GetContext(ctx, &w, selectWorkflow+` AND w.name = $2`, postgres.Tenant(q), name)
	if postgres.IsNoRows(err) {
		return w, errs.NotFoundf("workflow not found")
	}
	if err != nil {
		return w, fmt.Errorf("get workflow %q: %w", name, postgres.Classify(err))
	}
	return w, nil
}

// List returns one page of live workflows, newest first.
func List(ctx context.Context, q postgres.Querier, p page.Request) ([]Workflow, string, error) {
	var ws []Workflow
	set, after, afterID := p.Args()
	err := q.SelectContext(ctx, &ws, selectWorkflow+`
   AND (NOT $2 OR (w.created_at, w.id) < ($3, $4))
 ORDER BY w.created_at DESC, w.id DESC LIMIT $5`, postgres.Tenant(q), set, after, afterID, p.Fetch())
	if err != nil {
		return nil, "", fmt.Errorf("list workflows: %w", postgres.Classify(err))
	}
	ws, next := page.Cut(ws, p, func(w Workflow) page.Cursor { return page.Cursor{CreatedAt: w.CreatedAt, ID: w.ID} })
	return ws, next, nil
}

// Versions lists every version of a workflow, newest first.
func Versions(ctx context.Context, q postgres.Querier, id uuid.UUID) ([]Version, error) {
	if _, err := Get(ctx, q, id); err != nil {
		return nil, err
	}
	var vs []Version
	const list = `SELECT workflow_id, version, created_at, definition FROM workflow_versions
	               WHERE workflow_id = $1 AND tenant_id = $2 ORDER BY version DESC`
	if err := q.SelectContext(ctx, &vs, list, id, postgres.Tenant(q)); err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", id, postgres.Classify(err))
	}
	return vs, nil
}

// Pinned reads and decodes the exact version a run executes.
func Pinned(ctx context.Context, q postgres.Getter, id uuid.UUID, version int) (Definition, error) {
	var raw []byte
	const get = `SELECT definition FROM workflow_versions WHERE workflow_id = $1 AND version = $2 AND tenant_id = $3`
	err := q.GetContext(ctx, &raw, get, id, version, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return Definition{}, errs.NotFoundf("workflow version not found")
	}
	if err != nil {
		return Definition{}, fmt.Errorf("get workflow %s v%d: %w", id, version, postgres.Classify(err))
	}
	var d Definition
	if err := json.Unmarshal(raw, &d); err != nil {
		return Definition{}, fmt.Errorf("decode workflow %s v%d: %w", id, version, err)
	}
	return d, nil
}

// Delete retires a workflow; its versions and runs stay readable by id.
func Delete(ctx context.Context, q postgres.Querier, id uuid.UUID) error {
	const del = `UPDATE workflows SET deleted_at = now(), updated_at = now() WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`
	res, err := q.ExecContext(ctx, del, id, postgres.Tenant(q))
	if err != nil {
		return fmt.Errorf("delete workflow %s: %w", id, postgres.Classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFoundf("workflow not found")
	}
	return nil
}
