package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/signature"
	"aias/internal/workflow"
)

// Intake turns deliveries into durable, queued runs, in three steps the HTTP
// edge calls in order: Resolve (which endpoint, before reading the body),
// Verify (the sender's signature over the raw bytes) and Accept (the run row,
// committed, then the enqueue).
type Intake struct {
	DB             *postgres.DB
	Queue          run.Enqueuer
	Keys           Sealer
	DefaultMaxBody int64
	// Admitter caps each endpoint's body by the plan and admits each new
	// run against the quota; nil: neither (tests of this package).
	Admitter *entitlement.Admitter
	Now      func() time.Time
	// CacheTTL is how long a resolved endpoint is kept (targets.go); zero
	// looks every delivery's endpoint up.
	CacheTTL time.Duration
	// Runs, when set, commits the runs of deliveries arriving together in
	// one transaction; nil: each in its own.
	Runs *run.GroupCommit

	targets targetCache
}

// Delivery is one webhook request as received.
type Delivery struct {
	Body        []byte
	ContentType string
	Header      http.Header
	Query       url.Values
	RequestID   string
	SourceIP    string
	ReceivedAt  time.Time
}

// Target is a resolved endpoint: where a delivery goes and how it is checked.
type Target struct {
	TenantID     uuid.UUID
	EndpointID   uuid.UUID          `db:"endpoint_id"`
	WorkflowID   uuid.UUID          `db:"workflow_id"`
	Version      int                `db:"version"`
	MaxAttempts  int                `db:"max_attempts"`
	KeyExpr      string             `db:"concurrency_key"` // the workflow's ordering key expression
	RawSettings  []byte             `db:"verification"`
	EndpointBody *int64             `db:"max_body_bytes"`
	PlanName     string             `db:"plan"`
	Settings     signature.Settings `db:"-"`
	MaxBodyBytes int64              `db:"-"`
	sealed       []sealedSecret
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

// ErrUnverified is the one answer to every failed verification: the precise
// reason goes to the endpoint's rejection log, never to the sender.
var ErrUnverified = errs.E(errs.Unauthorized, "invalid_signature", "the request could not be verified")

// headers never stored with a run: credentials of the sender's own transport.
var droppedHeaders = map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true}

// dropped is every header a run must not keep: transport credentials and the
// delivery's signature (kept, a body and its signature are a replayable pair
// for anyone who can read the run).
func dropped(s signature.Settings) func(name string) bool {
	custom := strings.ToLower(s.Header)
	return func(name string) bool {
		return droppedHeaders[name] || name == custom || strings.Contains(name, "signature") || strings.Contains(name, "hmac")
	}
}

const maxDeliveryIDLen = 255

// Resolve finds the enabled endpoint a token addresses, with what verifying
// a delivery to it needs. A rotated-out token resolves until its grace ends.
func (in *Intake) Resolve(ctx context.Context, tenantID uuid.UUID, token string) (Target, error) {
	if token == "" || len(token) > 128 {
		return Target{}, errUnknownEndpoint
	}
	k := targetKey{tenant: tenantID, token: sha256.Sum256([]byte(token))}
	now := time.Now() // not in.now: a test's fixed clock would keep entries for ever
	if t, ok := in.targets.get(k, now, in.CacheTTL); ok {
		return t, nil
	}
	t, err := findTarget(ctx, in.DB, tenantID, k.token[:])
	if err != nil {
		return Target{}, err
	}
	in.bodyLimit(&t)
	in.targets.put(k, t, now, in.CacheTTL)
	return t, nil
}

// bodyLimit sets the largest body the endpoint takes.
func (in *Intake) bodyLimit(t *Target) {
	t.MaxBodyBytes = in.DefaultMaxBody
	if t.EndpointBody != nil {
		t.MaxBodyBytes = *t.EndpointBody
	}
	if in.Admitter != nil { // the plan caps every endpoint, whatever it was set to under another plan
		t.MaxBodyBytes = min(t.MaxBodyBytes, in.Admitter.Plans.Resolve(t.PlanName).Limits.MaxPayloadBytes)
	}
}

// Forget drops the resolved endpoints kept for a tenant (uuid.Nil: for every
// tenant), so that a change made through this process applies to the next
// delivery.
func (in *Intake) Forget(tenantID uuid.UUID) { in.targets.forget(tenantID) }

// targetRow is one row of aias_intake_target: the endpoint, repeated once
// per live signing secret.
type targetRow struct {
	Target
	SecretID   *uuid.UUID `db:"secret_id"`
	Ciphertext []byte     `db:"ciphertext"`
}

// findTarget looks the endpoint and its live secrets up in one round trip:
// aias_intake_target (migration 00012) scopes its own implicit transaction
// to the tenant, so row-level security applies as in InTenantTx.
func findTarget(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, tokenHash []byte) (Target, error) {
	var rows []targetRow
	err := q.SelectContext(ctx, &rows, `SELECT * FROM aias_intake_target($1, $2)`, tenantID, tokenHash)
	if err != nil {
		return Target{}, fmt.Errorf("find endpoint: %w", postgres.Classify(err))
	}
	if len(rows) == 0 {
		return Target{}, errUnknownEndpoint
	}
	t := rows[0].Target
	t.TenantID = tenantID
	for _, r := range rows {
		if r.SecretID != nil {
			t.sealed = append(t.sealed, sealedSecret{ID: *r.SecretID, Ciphertext: r.Ciphertext})
		}
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = workflow.DefaultMaxAttempts
	}
	if err := json.Unmarshal(t.RawSettings, &t.Settings); err != nil {
		return Target{}, fmt.Errorf("decode verification of endpoint %s: %w", t.EndpointID, err)
	}
	return t, nil
}

// Verify checks the delivery's signature over the raw body. A rejection is a
// *signature.Failure (for the rejection log); a secret that cannot be
// decrypted is Unavailable: the delivery is refused with 503, never accepted
// unverified.
func (in *Intake) Verify(t Target, d Delivery) (signature.Result, error) {
	var secrets []signature.Secret
	if t.Settings.Scheme != signature.Token {
		var err error
		if secrets, err = openSecrets(in.Keys, t.Settings.Scheme, t.TenantID, t.EndpointID, t.sealed); err != nil {
			return signature.Result{}, err
		}
	}
	return signature.Verify(t.Settings, secrets, signature.Request{Header: d.Header, Body: d.Body}, in.now())
}

// Accept stores the delivery as a queued run and enqueues it. The run row is
// committed before Accept returns; the enqueue is best-effort (see
// run.Enqueue). A repeated delivery id returns the first run with Duplicate
// set; ids are unique per endpoint for as long as the run is kept. For a
// scheme whose signature does not cover the id, a repeat of the same body
// within the verification's ReplayWindow is a repeat too, whatever its id.
func (in *Intake) Accept(ctx context.Context, t Target, d Delivery, v signature.Result) (Accepted, error) {
	if err := checkDeliveryID(v.DeliveryID); err != nil {
		return Accepted{}, err
	}
	n := run.New{
		TenantID: t.TenantID, WorkflowID: t.WorkflowID, WorkflowVersion: t.Version, EndpointID: &t.EndpointID,
		TriggerKind: run.TriggerWebhook, DeliveryID: v.DeliveryID, MaxAttempts: t.MaxAttempts,
		RequestID: d.RequestID, Body: d.Body, ContentType: postgres.Text(d.ContentType),
		Headers: flatten(d.Header, dropped(t.Settings)), Query: flatten(d.Query, nil), ReceivedAt: d.ReceivedAt,
		KeyExpr: t.KeyExpr, ReplayWindow: v.ReplayWindow,
	}
	// The run row, in one round trip; its insert answers a repeat.
	var out Accepted
	insert := func(held bool) (bool, error) {
		n.Held = held
		var err error
		if in.Runs != nil {
			out.RunID, out.Duplicate, err = in.Runs.Insert(ctx, n)
		} else {
			out.RunID, out.Duplicate, err = run.Insert(ctx, in.DB, n)
		}
		return out.Duplicate, err
	}
	scoped := in.DB.Scoped(t.TenantID)
	adm, err := in.Admitter.Admit(ctx, scoped, entitlement.Request{TenantID: t.TenantID, Plan: t.PlanName,
		Repeat: func(ctx context.Context) (uuid.UUID, bool, error) { return findRepeat(ctx, scoped, t, n) }}, insert)
	if err != nil {
		return Accepted{}, err
	}
	if adm.Repeat != uuid.Nil {
		out = Accepted{RunID: adm.Repeat, Duplicate: true}
	}
	return in.answer(ctx, t, out, adm.Held)
}

// answer settles a delivery: a repeat is answered with the first run, and
// a new queued run is enqueued.
func (in *Intake) answer(ctx context.Context, t Target, out Accepted, held bool) (Accepted, error) {
	if out.Duplicate {
		return in.duplicate(ctx, t, out.RunID)
	}
	if held {
		out.Status = run.Held
		return out, nil
	}
	out.Status = run.Queued
	// The run is committed: a sender hanging up now must not cancel its enqueue.
	run.Enqueue(context.WithoutCancel(ctx), in.Queue, t.TenantID, out.RunID, t.MaxAttempts)
	return out, nil
}

// findRepeat finds the run an earlier delivery of n created: by its id, or
// within its replay window by its body. The admitter asks only when the
// quota would not admit n plainly: a repeat is answered, never held or
// refused. q reads as the tenant, each read on its own.
func findRepeat(ctx context.Context, q postgres.Getter, t Target, n run.New) (uuid.UUID, bool, error) {
	if id, found, err := findDelivery(ctx, q, t.EndpointID, n.DeliveryID); err != nil || found {
		return id, found, err
	}
	return findReplay(ctx, q, t.TenantID, t.EndpointID, n)
}

// findDelivery finds the run an earlier delivery with the same id created.
func findDelivery(ctx context.Context, q postgres.Getter, endpointID uuid.UUID, deliveryID string) (uuid.UUID, bool, error) {
	if deliveryID == "" {
		return uuid.Nil, false, nil
	}
	var id uuid.UUID
	const find = `SELECT id FROM runs WHERE endpoint_id = $1 AND delivery_id = $2 AND tenant_id = $3`
	err := q.GetContext(ctx, &id, find, endpointID, deliveryID, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("find delivery: %w", postgres.Classify(err))
	}
	return id, true, nil
}

// findReplay finds the run an earlier delivery of the same body created
// within n's replay window (as aias_insert_run would, migration 00020).
func findReplay(ctx context.Context, q postgres.Getter, tenantID, endpointID uuid.UUID, n run.New) (uuid.UUID, bool, error) {
	if n.ReplayWindow <= 0 {
		return uuid.Nil, false, nil
	}
	h := sha256.Sum256(n.Body)
	var id uuid.UUID
	const find = `SELECT id FROM runs WHERE endpoint_id = $1 AND body_sha256 = $2 AND tenant_id = $3
	               AND created_at > now() - $4::interval ORDER BY created_at LIMIT 1`
	err := q.GetContext(ctx, &id, find, endpointID, h[:], tenantID, fmt.Sprintf("%d milliseconds", n.ReplayWindow.Milliseconds()))
	if postgres.IsNoRows(err) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("find replay: %w", postgres.Classify(err))
	}
	return id, true, nil
}

// duplicate answers a repeated delivery with the first run and its status.
func (in *Intake) duplicate(ctx context.Context, t Target, id uuid.UUID) (Accepted, error) {
	out := Accepted{RunID: id, Duplicate: true}
	err := in.DB.InTenantTx(ctx, t.TenantID, func(q postgres.Querier) error {
		r, err := run.Get(ctx, q, id)
		out.Status = r.Status
		return err
	})
	return out, err
}

// IsRejection reports whether err is a verification failure, with its reason.
func IsRejection(err error) (*signature.Failure, bool) {
	var f *signature.Failure
	ok := errors.As(err, &f)
	return f, ok
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
	return errs.Validation("the delivery id is not valid", errs.FieldError{Path: "header.Idempotency-Key", Message: problem})
}

// flatten keeps the first value of each name, lower-cased, minus dropped
// names. NUL and invalid UTF-8 become U+FFFD (so does the Content-Type,
// which is stored beside them): JSON text in Postgres cannot hold them, and a
// sender's stray byte must not cost its delivery (the body keeps every byte).
func flatten(m map[string][]string, drop func(string) bool) map[string]string {
	out := make(map[string]string, len(m))
	for k, vs := range m {
		k = strings.ToLower(k)
		if len(vs) == 0 || (drop != nil && drop(k)) {
			continue
		}
		out[postgres.Text(k)] = postgres.Text(vs[0])
	}
	return out
}

func (in *Intake) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (in *Intake) log(ctx context.Context) *zerolog.Logger { return logging.From(ctx) }
