package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/workflow"
)

// Intake turns deliveries into durable, queued runs.
type Intake struct {
	DB    *postgres.DB
	Queue run.Enqueuer
}

// Delivery is one webhook request as received.
type Delivery struct {
	TenantID    uuid.UUID
	Token       string
	Body        []byte
	ContentType string
	Header      http.Header
	Query       url.Values
	RequestID   string
	ReceivedAt  time.Time
}

// Accepted is the intake's answer to a delivery.
type Accepted struct {
	RunID     uuid.UUID
	Status    run.Status
	Duplicate bool
}

// One answer for every way a delivery can miss: unknown tenant, unknown or
// disabled endpoint, wrong token. Senders learn nothing about which.
var errUnknownEndpoint = errs.E(errs.NotFound, "not_found", "no such webhook endpoint")

// headers never stored with a run: credentials of the sender's own transport.
var droppedHeaders = map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true}

// DeliveryIDHeaders name the sender's idempotency key, first match wins.
var DeliveryIDHeaders = []string{"Idempotency-Key", "Webhook-Id", "X-GitHub-Delivery"}

const maxDeliveryIDLen = 255

type target struct {
	EndpointID  uuid.UUID `db:"endpoint_id"`
	WorkflowID  uuid.UUID `db:"workflow_id"`
	Version     int       `db:"version"`
	MaxAttempts int       `db:"max_attempts"`
}

// Accept stores the delivery as a queued run and enqueues it. The run row is
// committed before Accept returns; the enqueue is best-effort (see run.Enqueue).
// A repeated delivery id returns the first run with Duplicate set.
func (in *Intake) Accept(ctx context.Context, d Delivery) (Accepted, error) {
	if d.Token == "" || len(d.Token) > 128 {
		return Accepted{}, errUnknownEndpoint
	}
	delivery := deliveryID(d.Header)
	if err := checkDeliveryID(delivery); err != nil {
		return Accepted{}, err
	}
	var t target
	var out Accepted
	err := in.DB.InTenantTx(ctx, d.TenantID, func(q postgres.Querier) error {
		var err error
		if t, err = findTarget(ctx, q, d.Token); err != nil {
			return err
		}
		out.RunID, out.Duplicate, err = run.Insert(ctx, q, run.New{
			TenantID: d.TenantID, WorkflowID: t.WorkflowID, WorkflowVersion: t.Version, EndpointID: &t.EndpointID,
			TriggerKind: run.TriggerWebhook, DeliveryID: delivery, MaxAttempts: t.MaxAttempts,
			RequestID: d.RequestID, Body: d.Body, ContentType: d.ContentType,
			Headers: flatten(d.Header, droppedHeaders), Query: flatten(d.Query, nil), ReceivedAt: d.ReceivedAt,
		})
		return err
	})
	if err != nil {
		return Accepted{}, err
	}
	if out.Duplicate {
		return in.existing(ctx, d.TenantID, out.RunID)
	}
	out.Status = run.Queued
	// The run is committed: a sender hanging up now must not cancel its enqueue.
	run.Enqueue(context.WithoutCancel(ctx), in.Queue, d.TenantID, out.RunID, t.MaxAttempts)
	return out, nil
}

// checkDeliveryID refuses ids that cannot be stored or compared as text.
func checkDeliveryID(id string) error {
	problem := ""
	switch {
	case len(id) > maxDeliveryIDLen:
		problem = fmt.Sprintf("at most %d characters", maxDeliveryIDLen)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		problem = "must be printable UTF-8 text"
	}
	if problem == "" {
		return nil
	}
	return errs.Validation("the delivery id header is not valid", errs.FieldError{Path: "header.Idempotency-Key", Message: problem})
}

func findTarget(ctx context.Context, q postgres.Querier, token string) (target, error) {
	const find = `
SELECT e.id AS endpoint_id, w.id AS workflow_id, w.current_version AS version,
       coalesce((v.definition->>'max_attempts')::int, 0) AS max_attempts
  FROM webhook_endpoints e
  JOIN workflows w          ON w.id = e.workflow_id AND w.deleted_at IS NULL AND w.enabled
  JOIN workflow_versions v  ON v.workflow_id = w.id AND v.version = w.current_version
  JOIN tenants t            ON t.id = e.tenant_id AND t.status = 'active'
 WHERE e.token_hash = $1 AND e.enabled AND e.deleted_at IS NULL`
	var t target
	err := q.GetContext(ctx, &t, find, HashToken(token))
	if postgres.IsNoRows(err) {
		return t, errUnknownEndpoint
	}
	if err != nil {
		return t, fmt.Errorf("find endpoint: %w", postgres.Classify(err))
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = workflow.DefaultMaxAttempts
	}
	return t, nil
}

func (in *Intake) existing(ctx context.Context, tenantID, id uuid.UUID) (Accepted, error) {
	out := Accepted{RunID: id, Duplicate: true}
	err := in.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		r, err := run.Get(ctx, q, id)
		out.Status = r.Status
		return err
	})
	return out, err
}

func deliveryID(h http.Header) string {
	for _, name := range DeliveryIDHeaders {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			return v
		}
	}
	return ""
}

// flatten keeps the first value of each name, lower-cased, minus dropped
// names. NUL becomes U+FFFD: JSON text in Postgres cannot hold it, and a
// sender's stray byte must not cost its delivery (the body keeps every byte).
func flatten(m map[string][]string, drop map[string]bool) map[string]string {
	out := make(map[string]string, len(m))
	for k, vs := range m {
		k = strings.ToLower(k)
		if len(vs) == 0 || drop[k] {
			continue
		}
		out[strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", "\uFFFD"), "\uFFFD")] =
			strings.ToValidUTF8(strings.ReplaceAll(vs[0], "\x00", "\uFFFD"), "\uFFFD")
	}
	return out
}
