package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/secret"
	"aias/internal/signature"
	"aias/internal/step"
	"aias/internal/workflow"
)

// Signed callbacks: callback steps and on_finish notifications are signed
// with the tenant's callback secrets (internal/secret) the way Standard
// Webhooks senders sign.
//
// on_finish durability: the run row carries the notification's state. A
// trigger in Postgres (db/migrations/00009_callbacks.sql) marks it pending
// in the same write that makes the run terminal — whichever code path ends
// it — so nothing is lost between finishing and enqueueing. The executor
// enqueues a run:notify task right after finishing (Notices); the
// scheduler's sweep enqueues every pending, due notification missing from
// the queue (a crash, a cancel from the API, Redis lost). Notify delivers
// it: at most MaxNotifyAttempts attempts, each counted in Postgres before
// the request is sent, waiting NotifyBackoff between them.

// NoticeQueue enqueues a run's on_finish notification (internal/queue). It
// must be idempotent per run: the task id derives from the run id.
type NoticeQueue interface {
	EnqueueNotify(ctx context.Context, tenantID, runID uuid.UUID) error
}

// MaxNotifyAttempts bounds the delivery attempts of one on_finish notification.
const MaxNotifyAttempts = 10

// notifyBackoffFactor scales the run backoff's first wait for notifications:
// with the default 2s and 10m cap, ten attempts spread over up to an hour.
const notifyBackoffFactor = 15

// NotifyBackoff is the wait between on_finish attempts: the run backoff
// with a first wait notifyBackoffFactor times longer, under the same cap.
func (e *Executor) NotifyBackoff() Backoff {
	return Backoff{Base: min(notifyBackoffFactor*e.Backoff.Base, e.Backoff.Max), Max: e.Backoff.Max}
}

// keySigner signs with every live callback secret, current first: one v1
// signature each, space-separated, as Standard Webhooks allows, so a
// receiver holding either secret during a rotation's grace verifies.
type keySigner []signature.Secret

func (k keySigner) Sign(id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(k))
	for _, key := range k {
		h, err := signature.Sign(signature.Settings{Scheme: signature.StandardWebhooks}, key, id, ts, body)
		if err != nil {
			return "", step.Permanent(fmt.Errorf("sign callback: %s", errs.MessageOf(err)))
		}
		sigs = append(sigs, h.Get(step.HeaderWebhookSignature))
	}
	return strings.Join(sigs, " "), nil
}

// lazySigner loads the tenant's callback secrets on first use, so a run
// that never reaches its callback step decrypts nothing.
type lazySigner struct {
	once   sync.Once
	load   func() (keySigner, error)
	signer keySigner
	err    error
}

func (l *lazySigner) Sign(id string, ts time.Time, body []byte) (string, error) {
	l.once.Do(func() { l.signer, l.err = l.load() })
	if l.err != nil {
		return "", l.err
	}
	return l.signer.Sign(id, ts, body)
}

// callbackSigner is the signer of a run's callback steps, or nil when the
// definition has none.
func (e *Executor) callbackSigner(ctx context.Context, r Run, def workflow.Definition) step.CallbackSigner {
	if !def.UsesCallbackSteps() {
		return nil
	}
	return &lazySigner{load: func() (keySigner, error) { return e.callbackKeys(ctx, r.TenantID) }}
}

// callbackKeys opens the tenant's callback secrets. No secret, or a plan
// without callbacks (a downgrade after the workflow was saved), is a
// permanent failure telling the tenant why; a secret that does not open is
// retried (an operator's key is missing).
func (e *Executor) callbackKeys(ctx context.Context, tenantID uuid.UUID) (keySigner, error) {
	if e.Plans != nil {
		p, err := e.plan(ctx, tenantID) // the worker's plan cache, outside the transaction below
		if err != nil {
			return nil, err
		}
		if !p.Features.Callbacks {
			return nil, step.Permanent(entitlement.Feature(p, "callbacks"))
		}
	}
	var keys []signature.Secret
	err := e.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
		keys, err = secret.CallbackKeys(ctx, q, e.Keys, tenantID)
		return err
	})
	switch {
	case secret.IsNoCallbackSecret(err):
		return nil, step.Permanent(step.ErrNoCallbackSecret)
	case err != nil:
		return nil, err
	}
	return keySigner(keys), nil
}

// notifyFinished enqueues the run's on_finish notification when the write
// that ended the run marked it pending (the trigger decides; finish reads
// the mark back with RETURNING, so a run without on_finish costs nothing
// here). A failure is left to the sweep.
func (e *Executor) notifyFinished(ctx context.Context, r Run, pending bool) {
	if e.Notices == nil || !pending {
		return
	}
	if err := e.Notices.EnqueueNotify(ctx, r.TenantID, r.ID); err != nil {
		logging.From(ctx).Warn().Err(err).Msg("on_finish notification not enqueued; the sweep will enqueue it")
	}
}

// Notice is the body of an on_finish notification.
type Notice struct {
	RunID           uuid.UUID  `json:"run_id"`
	WorkflowID      uuid.UUID  `json:"workflow_id"`
	WorkflowVersion int        `json:"workflow_version"`
	Status          Status     `json:"status"`
	Error           *string    `json:"error"`
	Attempt         int        `json:"attempt"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
}

// NoticeID is the webhook-id of a run's on_finish notification, the same
// on every attempt so receivers can deduplicate. A run re-driven after it
// ended is notified again when it ends again: that round (2, 3, ...) is in
// the id, so a receiver does not drop it as a repeat of the first.
func NoticeID(runID uuid.UUID, round int) string {
	id := "run_" + runID.String() + ":finish"
	if round > 1 {
		id += ":" + strconv.Itoa(round)
	}
	return id
}

// errNoNotice means there is nothing (left) to deliver.
var errNoNotice = errors.New("no pending notification")

// Notify makes one delivery attempt of run id's on_finish notification. It
// returns nil when the notification is delivered, has failed for good, or
// there is nothing to deliver; a *NotifyRetry when it should be tried
// again after a wait; and any other error when Postgres could not be
// reached (the delivery is simply retried). lastChance says the queue will
// not deliver the task again: a retryable failure then fails for good.
func (e *Executor) Notify(ctx context.Context, tenantID, id uuid.UUID, lastChance bool) error {
	r, def, claim, err := e.claimNotice(ctx, tenantID, id)
	if errors.Is(err, errNoNotice) {
		return nil
	}
	if err != nil {
		return err
	}
	attempts := claim.Attempts
	sendErr := e.sendNotice(ctx, r, def, claim.Round)
	switch {
	case sendErr == nil:
		logging.From(ctx).Info().Int("notify_attempt", attempts).Msg("on_finish notification delivered")
		return e.recordNotice(ctx, r, claim, "delivered", nil, time.Time{})
	case step.IsPermanent(sendErr) || attempts >= MaxNotifyAttempts || lastChance:
		msg := fmt.Sprintf("attempt %d: %v", attempts, sendErr)
		logging.From(ctx).Warn().Str("error", msg).Msg("on_finish notification failed")
		return e.recordNotice(ctx, r, claim, "failed", &msg, time.Time{})
	}
	wait := e.NotifyBackoff().Delay(attempts - 1)
	if after, ok := step.RetryAfterOf(sendErr); ok {
		wait = max(wait, after)
	}
	msg := fmt.Sprintf("attempt %d: %v", attempts, sendErr)
	if err := e.recordNotice(ctx, r, claim, "pending", &msg, e.now().Add(wait)); err != nil {
		return err
	}
	return &NotifyRetry{Wait: wait, Err: sendErr}
}

// NotifyRetry is a failed on_finish attempt to be retried after Wait.
type NotifyRetry struct {
	Wait time.Duration
	Err  error
}

func (e *NotifyRetry) Error() string { return "on_finish notification: " + e.Err.Error() }
func (e *NotifyRetry) Unwrap() error { return e.Err }

// RetryAfter makes the wait visible to the queue's retry delay (see
// step.RetryAfterOf).
func (e *NotifyRetry) RetryAfter() time.Duration { return e.Wait }

// noticeClaim is one counted attempt of a run's notification: its number,
// and the notification's round (re-driven runs are notified again).
type noticeClaim struct {
	Attempts int `db:"callback_attempts"`
	Round    int `db:"callback_round"`
}

// claimNotice counts one attempt of a pending notification and loads the
// run and its definition.
func (e *Executor) claimNotice(ctx context.Context, tenantID, id uuid.UUID) (Run, workflow.Definition, noticeClaim, error) {
	var (
		r     Run
		def   workflow.Definition
		claim noticeClaim
	)
	err := e.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
		if claim, err = countNoticeAttempt(ctx, q, tenantID, id); err != nil {
			return err
		}
		if r, err = Get(ctx, q, id); err != nil {
			return err
		}
		def, err = workflow.Pinned(ctx, q, r.WorkflowID, r.WorkflowVersion)
		return err
	})
	return r, def, claim, err
}

// sendNotice renders the URL, signs and posts the notification.
func (e *Executor) sendNotice(ctx context.Context, r Run, def workflow.Definition, round int) error {
	if !def.OnFinish.Wants(string(r.Status)) {
		return step.Permanent(fmt.Errorf("the workflow version's on_finish does not ask for %s runs", r.Status))
	}
	env := triggerEnv(r)
	env["run"].(map[string]any)["status"] = string(r.Status)
	env["run"].(map[string]any)["workflow_id"] = r.WorkflowID.String()
	url, err := step.Render(ctx, def.OnFinish.URL, env)
	if err != nil {
		return step.Permanent(fmt.Errorf("on_finish url: %w", err))
	}
	body, err := json.Marshal(Notice{RunID: r.ID, WorkflowID: r.WorkflowID, WorkflowVersion: r.WorkflowVersion,
		Status: r.Status, Error: r.Error, Attempt: r.Attempt, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt})
	if err != nil {
		return step.Permanent(fmt.Errorf("encode notification: %w", err))
	}
	keys, err := e.callbackKeys(ctx, r.TenantID)
	if err != nil {
		return err
	}
	deps := step.Deps{HTTPClient: e.Deps.HTTPClient, CallbackSigner: keys}
	_, err = step.PostSigned(ctx, deps, step.SignedRequest{URL: url, ID: NoticeID(r.ID, round), Body: body,
		Header: http.Header{"Content-Type": []string{"application/json"}}})
	return err
}

// recordNotice stores the outcome of the claimed attempt; a newer attempt,
// or a new round after a re-drive, that counted since leaves it alone.
func (e *Executor) recordNotice(ctx context.Context, r Run, claim noticeClaim, state string, msg *string, next time.Time) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	var nextAt *time.Time
	if !next.IsZero() {
		nextAt = &next
	}
	return e.DB.InTenantTx(ctx, r.TenantID, func(q postgres.Querier) error {
		return recordNoticeOutcome(ctx, q, r, claim, state, msg, nextAt)
	})
}
