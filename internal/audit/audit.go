// Package audit records who (which API key, or which person signed in to
// the console) did what to which object, in the same transaction as the
// change, so the log and the data never disagree.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/page"
	"aias/internal/postgres"
)

// Entry is one audited action.
type Entry struct {
	ID          uuid.UUID  `db:"id" json:"id"`
	ActorKeyID  *uuid.UUID `db:"actor_key_id" json:"actor_key_id"`
	ActorUserID *uuid.UUID `db:"actor_user_id" json:"actor_user_id"`
	Action      string     `db:"action" json:"action"`
	ObjectType  string     `db:"object_type" json:"object_type"`
	ObjectID    string     `db:"object_id" json:"object_id"`
	RequestID   string     `db:"request_id" json:"request_id"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
}

// Record writes an entry in the caller's transaction. actor is uuid.Nil for
// the operator (CLI).
func Record(ctx context.Context, q postgres.Querier, tenantID, actor uuid.UUID, action, objectType, objectID, requestID string) error {
	var key *uuid.UUID
	if actor != uuid.Nil {
		key = &actor
	}
	const insert = `INSERT INTO audit_log (id, tenant_id, actor_key_id, action, object_type, object_id, request_id)
	                VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if _, err := q.ExecContext(ctx, insert, uuid.New(), tenantID, key, action, objectType, objectID, requestID); err != nil {
		return fmt.Errorf("audit %s: %w", action, postgres.Classify(err))
	}
	return nil
}

// RecordUser writes an entry whose actor is a person (a user signed in to
// the console), in the caller's transaction.
func RecordUser(ctx context.Context, q postgres.Querier, tenantID, userID uuid.UUID, action, objectType, objectID, requestID string) error {
	const insert = `INSERT INTO audit_log (id, tenant_id, actor_user_id, action, object_type, object_id, request_id)
	                VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if _, err := q.ExecContext(ctx, insert, uuid.New(), tenantID, userID, action, objectType, objectID, requestID); err != nil {
		return fmt.Errorf("audit %s: %w", action, postgres.Classify(err))
	}
	return nil
}

// List returns one page of the tenant's audit log, newest first.
func List(ctx context.Context, q postgres.Querier, p page.Request) ([]Entry, string, error) {
	const list = `SELECT id, actor_key_id, actor_user_id, action, object_type, object_id, request_id, created_at FROM audit_log
	               WHERE tenant_id = $5 AND (NOT $1 OR (created_at, id) < ($2, $3)) ORDER BY created_at DESC, id DESC LIMIT $4`
	var out []Entry
	set, after, afterID := p.Args()
	if err := q.SelectContext(ctx, &out, list, set, after, afterID, p.Fetch(), postgres.Tenant(q)); err != nil {
		return nil, "", fmt.Errorf("list audit log: %w", postgres.Classify(err))
	}
	out, next := page.Cut(out, p, func(e Entry) page.Cursor { return page.Cursor{CreatedAt: e.CreatedAt, ID: e.ID} })
	return out, next, nil
}
