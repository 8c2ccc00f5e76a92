package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/step"
	"aias/internal/workflow"
)

// A trial runs a definition once on a trigger the caller gives, through the
// same walk as a run (walk.go, flow.go) and the same step types, budgets,
// secrets, redaction and egress guard, but with no run: nothing is queued,
// counted against the quota or stored. Each step's record is kept in
// memory (trialLedger) and handed back. It differs from a run in what a
// run's rows are for: a failed step is not retried, a delay step shows the
// time it would wait until and the walk goes on, artifacts are shown (a
// preview) rather than stored, and the definition's on_finish is not sent.
// Steps that act outside AIAS (workflow.Definition.SideEffects) run only
// when the caller says they may.

// MaxTrialTime bounds a trial, whatever the definition's own timeout.
const MaxTrialTime = 30 * time.Second

// maxPreview is how much of a text artifact a trial shows.
const maxPreview = 4 << 10

// Trial is what to try: a definition, not necessarily saved, and a trigger.
type Trial struct {
	TenantID   uuid.UUID
	Definition workflow.Definition
	// Body and ContentType are the trigger's body, as a webhook's (JSON
	// when ContentType is empty); Headers and Query are what
	// trigger.headers and trigger.query hold (header names lower-cased).
	Body        []byte
	ContentType string
	Headers     map[string]string
	Query       map[string]string
	// AllowSideEffects lets the steps that act outside AIAS run.
	AllowSideEffects bool
}

// TrialResult is what a trial did.
type TrialResult struct {
	// Status is succeeded, stopped (a condition was false) or failed.
	Status string      `json:"status"`
	Error  string      `json:"error,omitempty"`
	Steps  []TrialStep `json:"steps"`
	// Skipped are the steps a condition left unrun.
	Skipped []string `json:"skipped,omitempty"`
}

// TrialStep is one step attempt of a trial, in the order the walk ran them
// (a foreach body's steps once per item).
type TrialStep struct {
	Position   int             `json:"position"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      *string         `json:"error,omitempty"`
	Logs       json.RawMessage `json:"logs"`
	DurationMS int64           `json:"duration_ms"`
	Artifacts  []TrialArtifact `json:"artifacts,omitempty"`
}

// TrialArtifact is an artifact a trial's step made, not stored.
type TrialArtifact struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	// Preview is the start of a text artifact (at most 4 KiB), "" otherwise.
	Preview string `json:"preview,omitempty"`
}

// trialLedger keeps a trial's step records.
type trialLedger struct{ steps []TrialStep }

func (l *trialLedger) add(rec StepRecord, arts []step.Artifact) {
	ts := TrialStep{Position: rec.Position, Name: rec.Name, Type: rec.Type, Status: rec.Status,
		Output: rec.Output, Error: rec.Error, Logs: rec.Logs, DurationMS: rec.DurationMS}
	for _, a := range arts {
		ts.Artifacts = append(ts.Artifacts, TrialArtifact{Name: a.Name, ContentType: a.ContentType,
			Size: len(a.Content), Preview: preview(a.ContentType, a.Content)})
	}
	l.steps = append(l.steps, ts)
}

// preview is the start of a text artifact, cut at a character boundary.
func preview(contentType string, b []byte) string {
	ct := strings.ToLower(contentType)
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	text := strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") || strings.Contains(ct, "yaml")
	if !text {
		return ""
	}
	if len(b) > maxPreview {
		b = b[:maxPreview]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	if !utf8.Valid(b) {
		return ""
	}
	return string(b)
}

// ErrSideEffects is the code of a trial refused because its definition has
// steps that act outside AIAS and the caller did not allow them.
const ErrSideEffects = "side_effects_not_allowed"

// Try runs t once (see the comment at the top of this file). A definition
// that has steps with side effects, tried without AllowSideEffects, is an
// Invalid error with code side_effects_not_allowed listing each such step
// at its path. What the steps do is in the result, a failure included; an
// error is returned only when the trial could not be carried out.
func (e *Executor) Try(ctx context.Context, t Trial) (TrialResult, error) {
	if effects := t.Definition.SideEffects(); len(effects) > 0 && !t.AllowSideEffects {
		fields := make([]errs.FieldError, len(effects))
		for i, ef := range effects {
			fields[i] = errs.FieldError{Path: ef.Path, Message: fmt.Sprintf("step %s (%s) %s; allow side effects to run it", ef.Name, ef.Type, ef.Does)}
		}
		return TrialResult{}, &errs.Error{Kind: errs.Invalid, Code: ErrSideEffects, Fields: fields,
			Message: "the definition has steps that act outside AIAS; a test runs them only when side effects are allowed"}
	}
	p, err := e.plan(ctx, t.TenantID)
	if err != nil {
		return TrialResult{}, err
	}
	now := e.now()
	r := Run{ID: uuid.New(), TenantID: t.TenantID, TriggerKind: TriggerManual, Status: Running, Attempt: 1,
		Body: t.Body, ContentType: t.ContentType, Headers: lowerKeys(t.Headers), Query: JSONMap(t.Query),
		ReceivedAt: now, CreatedAt: now, StartedAt: &now}
	env := triggerEnv(r)
	deps, err := e.withSecrets(ctx, r, t.Definition, env)
	if err != nil && !step.IsPermanent(err) {
		return TrialResult{}, err
	}
	if err != nil {
		return TrialResult{Status: string(Failed), Error: "secrets: " + err.Error(), Steps: []TrialStep{}}, nil
	}
	deps.CallbackSigner = e.callbackSigner(ctx, r, t.Definition)
	limit := MaxTrialTime
	if d, perr := time.ParseDuration(t.Definition.Timeout); perr == nil && d < limit {
		limit = d
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, limit, errRunTimeout{limit})
	defer cancel()
	w := &walker{e: e, r: r, def: t.Definition, deps: deps, done: map[int]StepRecord{}, base: ctx,
		maxItems: p.Limits.ForeachItems, trial: &trialLedger{steps: []TrialStep{}}}
	err = w.walk(runCtx, t.Definition.Steps, env)
	res := TrialResult{Status: string(Succeeded), Steps: w.trial.steps}
	var failure *stepFailure
	switch {
	case err == nil:
	case errors.Is(err, errStopped):
		res.Status = "stopped"
		for _, s := range w.skipped {
			res.Skipped = append(res.Skipped, s.Name)
		}
	case errors.As(err, &failure):
		res.Status, res.Error = string(Failed), deps.Redactor.Error(failure).Error()
	default:
		return TrialResult{}, fmt.Errorf("try definition: %w", err)
	}
	return res, nil
}

// lowerKeys is the headers as a run keeps them: names in lower case.
func lowerKeys(h map[string]string) JSONMap {
	out := make(JSONMap, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}
