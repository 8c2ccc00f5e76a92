// Package run holds runs — one execution of one pinned workflow version for
// one trigger — their per-step records, and the executor that moves a run
// through its steps.
//
// State machine (see doc.go for the full contract):
//
//	queued ──▶ running ──▶ succeeded | failed | dead | canceled
//	   ▲          │  ▲ │
//	   └──────────┘  │ ▼ delay step
//	retryable error  delayed
//	with attempts left
package run

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

// Status of a run.
type Status string

// The statuses a run can have.
const (
	Held      Status = "held" // over the monthly quota; starts when quota allows
	Queued    Status = "queued"
	Delayed   Status = "delayed" // a delay step waits; next_attempt_at is when it continues
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Dead      Status = "dead"
	Canceled  Status = "canceled"
)

// Terminal reports whether no further execution will happen.
func (s Status) Terminal() bool {
	return s == Succeeded || s == Failed || s == Dead || s == Canceled
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == Held || s == Queued || s == Delayed || s == Running || s.Terminal()
}

// Trigger kinds.
const (
	TriggerWebhook  = "webhook"
	TriggerManual   = "manual"
	TriggerReplay   = "replay"
	TriggerSchedule = "schedule"
)

// Run is one row of runs.
type Run struct {
	ID              uuid.UUID  `db:"id"`
	TenantID        uuid.UUID  `db:"tenant_id"`
	WorkflowID      uuid.UUID  `db:"workflow_id"`
	WorkflowVersion int        `db:"workflow_version"`
	EndpointID      *uuid.UUID `db:"endpoint_id"`
	TriggerKind     string     `db:"trigger_kind"`
	DeliveryID      *string    `db:"delivery_id"`
	Status          Status     `db:"status"`
	Attempt         int        `db:"attempt"`
	MaxAttempts     int        `db:"max_attempts"`
	RequestID       string     `db:"request_id"`
	Body            []byte     `db:"body"`
	ContentType     string     `db:"content_type"`
	Headers         JSONMap    `db:"headers"`
	Query           JSONMap    `db:"query"`
	Error           *string    `db:"error"`
	ReceivedAt      time.Time  `db:"received_at"`
	CreatedAt       time.Time  `db:"created_at"`
	StartedAt       *time.Time `db:"started_at"`
	FinishedAt      *time.Time `db:"finished_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
	NextAttemptAt   *time.Time `db:"next_attempt_at"`
	ReplayOf        *uuid.UUID `db:"replay_of"`
	ConcurrencyKey  *string    `db:"concurrency_key"`
}

const runColumns = `id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind, delivery_id,
       status, attempt, max_attempts, request_id, body, content_type, headers, query, error,
       received_at, created_at, started_at, finished_at, updated_at, next_attempt_at, replay_of, concurrency_key`

// New describes a run to create.
type New struct {
	// ID is the run's id; zero means a random one. A deterministic id (a
	// schedule's tick) makes a second insert of the same run a duplicate.
	ID              uuid.UUID
	TenantID        uuid.UUID
	WorkflowID      uuid.UUID
	WorkflowVersion int
	EndpointID      *uuid.UUID
	TriggerKind     string
	DeliveryID      string // empty: no idempotency key
	MaxAttempts     int
	RequestID       string
	Body            []byte
	ContentType     string
	Headers         map[string]string
	Query           map[string]string
	ReceivedAt      time.Time
	Held            bool // over quota: stored as held, not counted
	// KeyExpr is the workflow's concurrency_key expression, if any. It is
	// not evaluated here: the run is stored with its key pending, and the
	// worker that first claims it computes it (order.go).
	KeyExpr string
	// ReplayWindow, when set, makes a run of the same endpoint with the same
	// body (SHA-256) created within it the run this one repeats, whatever
	// its delivery id: for senders whose signature does not cover the id
	// (signature.Result.ReplayWindow).
	ReplayWindow time.Duration
}

// Get reads one run of the transaction's tenant.
func Get(ctx context.Context, q postgres.Querier, id uuid.UUID) (Run, error) {
	var r Run
	err := q.GetContext(ctx, &r, `SELECT `+runColumns+` FROM runs WHERE id = $1 AND tenant_id = $2`, id, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return r, errs.NotFoundf("run not found")
	}
	if err != nil {
		return r, fmt.Errorf("get run %s: %w", id, postgres.Classify(err))
	}
	return r, nil
}

// Filter narrows a run list.
type Filter struct {
	Status        Status
	WorkflowID    uuid.UUID
	EndpointID    uuid.UUID
	CreatedAfter  *time.Time // created at or after (nil: no bound)
	CreatedBefore *time.Time // created before (nil: no bound)
}

// List returns one page of runs, newest first.
func List(ctx context.Context, q postgres.Querier, f Filter, p page.Request) ([]Run, string, error) {
	const list = `SELECT ` + runColumns + ` FROM runs
 WHERE tenant_id = $8
   AND ($1 = '' OR status = $1)
   AND ($2::uuid IS NULL OR workflow_id = $2)
   AND ($3::uuid IS NULL OR endpoint_id = $3)
   AND (NOT $4 OR (created_at, id) < ($5, $6))
   AND ($9::timestamptz IS NULL OR created_at >= $9)
   AND ($10::timestamptz IS NULL OR created_at < $10)
 ORDER BY created_at DESC, id DESC
 LIMIT $7`
	var rs []Run
	set, after, afterID := p.Args()
	err := q.SelectContext(ctx, &rs, list, string(f.Status), nullUUID(f.WorkflowID), nullUUID(f.EndpointID),
		set, after, afterID, p.Fetch(), postgres.Tenant(q), f.CreatedAfter, f.CreatedBefore)
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", postgres.Classify(err))
	}
	rs, next := page.Cut(rs, p, func(r Run) page.Cursor { return page.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} })
	return rs, next, nil
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// JSONMap is a string map stored as jsonb.
type JSONMap map[string]string

// Scan implements sql.Scanner.
func (m *JSONMap) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*m = JSONMap{}
		return nil
	default:
		return fmt.Errorf("JSONMap: cannot scan %T", src)
	}
	return json.Unmarshal(b, (*map[string]string)(m))
}
