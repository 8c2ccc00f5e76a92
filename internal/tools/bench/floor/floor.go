// Package floor is the route 'aias bench' measures the real intake
// against: the least any durable intake can do — read the body, check one
// HMAC, one prepared INSERT … RETURNING committed, one enqueue, 202. Only
// the process 'aias bench ingress' starts serves it, as an extra route of
// the ingress (ingress.Options.Extra): the same Echo server and middleware
// as the real intake beside it, in the same process. The production
// programs never link this package.
package floor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"aias/internal/errs"
	"aias/internal/ingress"
	"aias/internal/postgres"
	"aias/internal/signature"
)

// Path is the floor's route, outside /api.
const Path = "/bench/floor"

// Secret signs deliveries to the floor (Standard Webhooks). It guards
// nothing: the route exists only in the process the bench starts.
//
//nolint:gosec // a published test secret, not a credential
const Secret = "whsec_YWlhcy1iZW5jaC1mbG9vci1zZWNyZXQtMzItYnl0ZXM="

// Table is the table the floor writes to: runs' columns, defaults, checks
// and indexes, without foreign keys or row-level security. The bench
// creates it (as the schema owner) before it starts the ingress.
const Table = `CREATE TABLE IF NOT EXISTS bench_floor_runs (LIKE runs INCLUDING ALL);
GRANT SELECT, INSERT ON bench_floor_runs TO aias_app`

// maxBody is the floor's body limit, the intake's default.
const maxBody = 1 << 20

const insert = `
INSERT INTO bench_floor_runs (id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind,
                              delivery_id, status, max_attempts, request_id, body, content_type, received_at)
VALUES ($1, $2, $2, 1, $2, 'webhook', $3, 'queued', 1, $4, $5, $6, $7)
RETURNING id`

// Enqueuer is what the floor needs of the queue (queue.Client).
type Enqueuer interface {
	EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) error
}

// Route is the floor as an extra route of the ingress.
func Route(db *postgres.DB, q Enqueuer) ingress.ExtraRoute {
	f := newFloor(db, q)
	return ingress.ExtraRoute{Method: http.MethodPost, Path: Path, Handle: f.handle}
}

type floor struct {
	db       *postgres.DB
	queue    Enqueuer
	settings signature.Settings
	secrets  []signature.Secret

	once sync.Once
	stmt *sqlx.Stmt
	err  error
}

func newFloor(db *postgres.DB, q Enqueuer) *floor {
	key, err := signature.KeyBytes(signature.StandardWebhooks, Secret)
	if err != nil {
		panic(err) // a constant
	}
	return &floor{db: db, queue: q, settings: signature.Settings{Scheme: signature.StandardWebhooks},
		secrets: []signature.Secret{key}}
}

func (f *floor) prepare(ctx context.Context) (*sqlx.Stmt, error) {
	f.once.Do(func() { f.stmt, f.err = f.db.PreparexContext(context.WithoutCancel(ctx), insert) })
	return f.stmt, f.err
}

// answer is the intake's answer to an accepted delivery.
type answer struct {
	RunID  uuid.UUID `json:"run_id"`
	Status string    `json:"status"`
}

func (f *floor) handle(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	res, err := signature.Verify(f.settings, f.secrets, signature.Request{Header: r.Header, Body: body}, time.Now())
	if err != nil {
		return errs.E(errs.Unauthorized, "invalid_signature", "the request could not be verified")
	}
	stmt, err := f.prepare(ctx) //nolint:sqlclosecheck // prepared once, kept for the life of the process
	if err != nil {
		return errs.Wrap(err, errs.Internal, "internal", "prepare the floor insert")
	}
	var id uuid.UUID
	// The request id is the one the ingress's middleware gave the request.
	err = stmt.QueryRowxContext(ctx, uuid.New(), uuid.Nil, res.DeliveryID, w.Header().Get("X-Request-ID"),
		body, r.Header.Get("Content-Type"), time.Now()).Scan(&id)
	if err != nil {
		return postgres.Classify(err)
	}
	_ = f.queue.EnqueueRun(context.WithoutCancel(ctx), uuid.Nil, id, 1)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	return json.NewEncoder(w).Encode(answer{RunID: id, Status: "queued"})
}

// readBody reads at most maxBody bytes into one allocation sized from
// Content-Length, as the intake does.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, tooLarge()
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), 64<<10)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge()
	}
	if err != nil {
		return nil, errs.Wrap(err, errs.Invalid, "bad_request", "could not read the request body")
	}
	return buf.Bytes(), nil
}

func tooLarge() error {
	return errs.E(errs.TooLarge, "payload_too_large", fmt.Sprintf("the body exceeds %d bytes", maxBody))
}
