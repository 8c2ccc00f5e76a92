package ingress

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/run"
)

type triggerJSON struct {
	Kind        string            `json:"kind"`
	EndpointID  *uuid.UUID        `json:"endpoint_id,omitempty"`
	DeliveryID  *string           `json:"delivery_id,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
	Body        any               `json:"body,omitempty"`
	ReceivedAt  time.Time         `json:"received_at"`
}

type runJSON struct {
	ID              uuid.UUID         `json:"id"`
	Status          run.Status        `json:"status"`
	Attempt         int               `json:"attempt"`
	MaxAttempts     int               `json:"max_attempts"`
	WorkflowID      uuid.UUID         `json:"workflow_id"`
	WorkflowVersion int               `json:"workflow_version"`
	Trigger         triggerJSON       `json:"trigger"`
	Error           *string           `json:"error"`
	RequestID       string            `json:"request_id,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	StartedAt       *time.Time        `json:"started_at"`
	FinishedAt      *time.Time        `json:"finished_at"`
	Steps           *[]run.StepRecord `json:"steps,omitempty"`
	ReplayOf        *uuid.UUID        `json:"replay_of,omitempty"`
}

// toRunJSON renders a run; withBody adds the trigger body (single-run reads).
func toRunJSON(r run.Run, withBody bool) runJSON {
	t := triggerJSON{Kind: r.TriggerKind, EndpointID: r.EndpointID, DeliveryID: r.DeliveryID,
		ContentType: r.ContentType, ReceivedAt: r.ReceivedAt}
	if withBody {
		t.Headers, t.Query, t.Body = r.Headers, r.Query, bodyJSON(r.Body, r.ContentType)
	}
	return runJSON{ID: r.ID, Status: r.Status, Attempt: r.Attempt, MaxAttempts: r.MaxAttempts,
		WorkflowID: r.WorkflowID, WorkflowVersion: r.WorkflowVersion, Trigger: t, Error: r.Error,
		RequestID: r.RequestID, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, ReplayOf: r.ReplayOf}
}

// bodyJSON shows a JSON body as JSON and anything else as text.
func bodyJSON(b []byte, contentType string) any {
	if json.Valid(b) && (contentType == "" || strings.Contains(strings.ToLower(contentType), "json")) {
		return json.RawMessage(b)
	}
	return string(b)
}

// runWithBody reads a run as a single-run read shows it: with its trigger.
func runWithBody(ctx context.Context, q postgres.Querier, id uuid.UUID) (runJSON, error) {
	r, err := run.Get(ctx, q, id)
	if err != nil {
		return runJSON{}, err
	}
	return toRunJSON(r, true), nil
}

// listRuns is GET /api/v1/runs?status=&workflow_id=&endpoint_id=&expand=steps.
func (s *Server) listRuns(c echo.Context) error {
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	f, err := runFilter(c)
	if err != nil {
		return err
	}
	expandSteps := c.QueryParam("expand") == "steps"
	var out []runJSON
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		rs, n, err := run.List(ctx, q, f, p)
		if err != nil {
			return err
		}
		next = n
		for _, r := range rs {
			rj := toRunJSON(r, false)
			if expandSteps {
				steps, err := run.Steps(ctx, q, r.ID)
				if err != nil {
					return err
				}
				rj.Steps = &steps
			}
			out = append(out, rj)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(out, next))
}

func runFilter(c echo.Context) (run.Filter, error) {
	var f run.Filter
	var fields []errs.FieldError
	if st := run.Status(c.QueryParam("status")); st != "" {
		if !st.Valid() {
			fields = append(fields, errs.FieldError{Path: "status", Message: "must be held, queued, delayed, running, succeeded, failed, dead or canceled"})
		}
		f.Status = st
	}
	for name, dst := range map[string]*uuid.UUID{"workflow_id": &f.WorkflowID, "endpoint_id": &f.EndpointID} {
		if v := c.QueryParam(name); v != "" {
			id, err := uuid.Parse(v)
			if err != nil {
				fields = append(fields, errs.FieldError{Path: name, Message: "must be a UUID"})
			}
			*dst = id
		}
	}
	for name, dst := range map[string]**time.Time{"created_after": &f.CreatedAfter, "created_before": &f.CreatedBefore} {
		if v := c.QueryParam(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fields = append(fields, errs.FieldError{Path: name, Message: "must be an RFC 3339 time (2026-01-02T15:04:05Z)"})
				continue
			}
			*dst = &t
		}
	}
	if f.CreatedAfter != nil && f.CreatedBefore != nil && !f.CreatedAfter.Before(*f.CreatedBefore) {
		fields = append(fields, errs.FieldError{Path: "created_after", Message: "must be before created_before"})
	}
	if len(fields) > 0 {
		return f, errs.Validation("invalid run filter", fields...)
	}
	return f, nil
}

// ofRun is list after a check that the run exists: 404 when the tenant has
// no such run, rather than an empty list.
func ofRun[T any](list func(context.Context, postgres.Querier, uuid.UUID) ([]T, error)) func(context.Context, postgres.Querier, uuid.UUID) ([]T, error) {
	return func(ctx context.Context, q postgres.Querier, id uuid.UUID) ([]T, error) {
		if _, err := run.Get(ctx, q, id); err != nil {
			return nil, err
		}
		return list(ctx, q, id)
	}
}

type controlRequest struct {
	// Version is "pinned" (the run's own, default) or "current".
	Version string `json:"version"`
}

func bindControl(c echo.Context) (bool, error) {
	var req controlRequest
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return false, err
		}
	}
	switch req.Version {
	case "", "pinned":
		return false, nil
	case "current":
		return true, nil
	}
	return false, errs.Validation("invalid request", errs.FieldError{Path: "version", Message: "must be pinned or current"})
}

// replayRun is POST /runs/:id/replay: a new run with the same trigger.
func (s *Server) replayRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	current, err := bindControl(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	tenantID := principal(c).TenantID
	newID, status, err := run.Replay(ctx, s.db, s.queue, tenantID, id, current, logging.RequestID(ctx), s.admit)
	if err != nil {
		return err
	}
	s.auditAfter(c, "run.replay", objRun, newID.String())
	return c.JSON(http.StatusAccepted, intakeResponse{RunID: newID, Status: string(status)})
}

// redriveRun is POST /runs/:id/redrive: the same failed or dead run resumes.
func (s *Server) redriveRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	current, err := bindControl(c)
	if err != nil {
		return err
	}
	if err := run.Redrive(c.Request().Context(), s.db, s.queues, principal(c).TenantID, id, current); err != nil {
		return err
	}
	s.auditAfter(c, "run.redrive", objRun, id.String())
	return c.JSON(http.StatusAccepted, intakeResponse{RunID: id, Status: string(run.Queued)})
}

// cancelRun is POST /runs/:id/cancel.
func (s *Server) cancelRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var st run.Status
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if st, err = run.Cancel(ctx, q, id); err != nil {
			return err
		}
		return s.record(ctx, q, c, "run.cancel", objRun, id.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": id, "status": st})
}

// auditAfter records an action whose change committed in its own transaction.
func (s *Server) auditAfter(c echo.Context, action, objectType, objectID string) {
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		return s.record(ctx, q, c, action, objectType, objectID)
	})
	if err != nil {
		logging.From(c.Request().Context()).Warn().Err(err).Str("action", action).Msg("audit entry not written")
	}
}
