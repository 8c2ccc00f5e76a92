package ingress

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/signature"
)

// BenchFloorPath is the floor route 'aias bench' measures the real intake
// against. It is registered only when AIAS_BENCH_FLOOR is set.
const BenchFloorPath = "/bench/floor"

// BenchFloorSecret signs deliveries to the floor route (Standard Webhooks).
// It guards nothing: the route exists only on benchmark deployments.
//
//nolint:gosec // a published test secret, not a credential
const BenchFloorSecret = "whsec_YWlhcy1iZW5jaC1mbG9vci1zZWNyZXQtMzItYnl0ZXM="

// BenchFloorTable is the table the floor writes to: runs' columns, defaults,
// checks and indexes, without foreign keys or row-level security. The bench
// creates it (as the schema owner) before it starts the ingress.
const BenchFloorTable = `CREATE TABLE IF NOT EXISTS bench_floor_runs (LIKE runs INCLUDING ALL);
GRANT SELECT, INSERT ON bench_floor_runs TO aias_app`

const benchFloorInsert = `
INSERT INTO bench_floor_runs (id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind,
                              delivery_id, status, max_attempts, request_id, body, content_type, received_at)
VALUES ($1, $2, $2, 1, $2, 'webhook', $3, 'queued', 1, $4, $5, $6, $7)
RETURNING id`

// benchFloor is the least any durable intake can do: read the body, check
// one HMAC, one prepared INSERT ... RETURNING committed, one enqueue, 202.
type benchFloor struct {
	db    *postgres.DB
	queue interface {
		EnqueueRun(ctx context.Context, tenantID, runID uuid.UUID, maxAttempts int) error
	}
	settings signature.Settings
	secrets  []signature.Secret

	once sync.Once
	stmt *sqlx.Stmt
	err  error
}

func newBenchFloor(s *Server) *benchFloor {
	key, err := signature.KeyBytes(signature.StandardWebhooks, BenchFloorSecret)
	if err != nil {
		panic(err) // a constant
	}
	return &benchFloor{db: s.db, queue: s.queue, settings: signature.Settings{Scheme: signature.StandardWebhooks},
		secrets: []signature.Secret{key}}
}

func (f *benchFloor) prepare(ctx context.Context) (*sqlx.Stmt, error) {
	f.once.Do(func() { f.stmt, f.err = f.db.PreparexContext(context.WithoutCancel(ctx), benchFloorInsert) })
	return f.stmt, f.err
}

func (f *benchFloor) handle(c echo.Context) error {
	ctx := c.Request().Context()
	body, err := readBody(c, 1<<20)
	if err != nil {
		return err
	}
	res, err := signature.Verify(f.settings, f.secrets, signature.Request{Header: c.Request().Header, Body: body}, time.Now())
	if err != nil {
		return errs.E(errs.Unauthorized, "invalid_signature", "the request could not be verified")
	}
	stmt, err := f.prepare(ctx) //nolint:sqlclosecheck // prepared once, kept for the life of the process
	if err != nil {
		return errs.Wrap(err, errs.Internal, "internal", "prepare the floor insert")
	}
	var id uuid.UUID
	err = stmt.QueryRowxContext(ctx, uuid.New(), uuid.Nil, res.DeliveryID, c.Response().Header().Get(echo.HeaderXRequestID),
		body, c.Request().Header.Get(echo.HeaderContentType), time.Now()).Scan(&id)
	if err != nil {
		return postgres.Classify(err)
	}
	_ = f.queue.EnqueueRun(context.WithoutCancel(ctx), uuid.Nil, id, 1)
	return c.JSON(http.StatusAccepted, intakeResponse{RunID: id, Status: "queued"})
}
