package ingress

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/workflow"
)

// The workbench of workflow authors: checking a definition without saving
// it, diffing two versions, and trying a definition on a sample trigger.
// The console's editor calls these; so can anyone with a key.

// validation is the answer of POST /api/v1/workflows/validate.
type validation struct {
	Valid       bool              `json:"valid"`
	Name        string            `json:"name"`
	Steps       int               `json:"steps"`
	SideEffects []workflow.Effect `json:"side_effects"`
}

// validateWorkflow checks a definition as createWorkflow would (the
// plan's limits and the key's right to read secrets included) and saves
// nothing. Problems are a 400 whose errors carry each one's line.
func (s *Server) validateWorkflow(c echo.Context) error {
	d, body, err := decodeDefinition(c)
	if err != nil {
		return err
	}
	if err := s.checkWithinPlan(c, d, body); err != nil {
		return err
	}
	effects := workflow.LocateEffects(body, d.SideEffects())
	if effects == nil {
		effects = []workflow.Effect{}
	}
	return c.JSON(http.StatusOK, validation{Valid: true, Name: d.Name, Steps: len(d.Walk()), SideEffects: effects})
}

// checkWithinPlan checks d against the tenant's plan and the key's role.
func (s *Server) checkWithinPlan(c echo.Context, d workflow.Definition, body []byte) error {
	if err := mayReadSecrets(c, d); err != nil {
		return err
	}
	return s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		p, err := s.ent.PlanOf(ctx, q, principal(c).TenantID)
		if err != nil {
			return err
		}
		return workflow.Locate(body, d.ValidateWithin(stepLimit(p)))
	})
}

// diffWorkflow is GET /api/v1/workflows/:id/diff?from=&to=: to defaults to
// the current version, from to the one before to.
func (s *Server) diffWorkflow(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	from, err := versionParam(c, "from")
	if err != nil {
		return err
	}
	to, err := versionParam(c, "to")
	if err != nil {
		return err
	}
	d, err := read(s, c, func(ctx context.Context, q postgres.Querier) (workflow.Diff, error) {
		w, err := workflow.Get(ctx, q, id)
		if err != nil {
			return workflow.Diff{}, err
		}
		if to == 0 {
			to = w.Version
		}
		if from == 0 {
			from = max(to-1, 1)
		}
		return workflow.DiffVersions(ctx, q, id, from, to)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// versionParam reads an optional version number (0 when absent).
func versionParam(c echo.Context, name string) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errs.Validation("invalid version", errs.FieldError{Path: name, Message: "must be a version number, 1 or more"})
	}
	return n, nil
}

// trialRequest is the body of POST /api/v1/workflows/test.
type trialRequest struct {
	// Definition is the definition's text, YAML or JSON, as the editor
	// holds it: problems are placed at its lines.
	Definition       string        `json:"definition"`
	Trigger          *trialTrigger `json:"trigger"`
	AllowSideEffects bool          `json:"allow_side_effects"`
}

type trialTrigger struct {
	// Body is the trigger's body: any JSON value, or, with a content_type
	// that is not JSON, a string holding the raw body.
	Body        json.RawMessage   `json:"body"`
	ContentType string            `json:"content_type"`
	Headers     map[string]string `json:"headers"`
	Query       map[string]string `json:"query"`
}

// testWorkflow runs a definition once on a given trigger (run.Executor.Try):
// nothing is queued or stored; steps with side effects run only when the
// request allows them. A test run is not counted against the monthly
// quota (nothing is stored to count), so the tenant's test runs are
// limited per minute instead (Options.TestLimit).
func (s *Server) testWorkflow(c echo.Context) error {
	if err := s.limit(c, "test:"+principal(c).TenantID.String(), s.opt.TestLimit); err != nil {
		return err
	}
	var req trialRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	body := []byte(req.Definition)
	if strings.TrimSpace(req.Definition) == "" {
		return errs.Validation("nothing to test", errs.FieldError{Path: "definition", Message: "is required"})
	}
	d, err := workflow.Decode(body, "application/yaml") // JSON is YAML too
	if err != nil {
		return err
	}
	if err := workflow.Locate(body, d.Validate()); err != nil {
		return err
	}
	if err := s.checkWithinPlan(c, d, body); err != nil {
		return err
	}
	t := run.Trial{TenantID: principal(c).TenantID, Definition: d, AllowSideEffects: req.AllowSideEffects}
	if err := req.Trigger.into(&t); err != nil {
		return err
	}
	res, err := s.trials.Try(c.Request().Context(), t)
	if err != nil {
		return workflow.Locate(body, err)
	}
	return c.JSON(http.StatusOK, res)
}

// into sets the trial's trigger.
func (tr *trialTrigger) into(t *run.Trial) error {
	if tr == nil {
		return nil
	}
	t.Headers, t.Query, t.ContentType = tr.Headers, tr.Query, tr.ContentType
	if len(tr.Body) == 0 || string(tr.Body) == "null" {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(tr.ContentType)
	if mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") {
		t.Body = tr.Body
		return nil
	}
	var raw string
	if err := json.Unmarshal(tr.Body, &raw); err != nil {
		return errs.Validation("invalid trigger", errs.FieldError{Path: "trigger.body",
			Message: "must be a string holding the raw body when content_type is not JSON"})
	}
	t.Body = []byte(raw)
	return nil
}
