package ingress

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"aias/internal/auth"
	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/workflow"
)

// decodeDefinition reads and validates a workflow definition (JSON or YAML),
// and returns the body as sent, to place later problems at their lines.
func decodeDefinition(c echo.Context) (workflow.Definition, []byte, error) {
	body, err := readBody(c, maxAPIBody)
	if err != nil {
		return workflow.Definition{}, nil, err
	}
	d, err := workflow.Decode(body, c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return d, body, err
	}
	return d, body, workflow.Locate(body, d.Validate())
}

// stepLimit is what the plan allows a definition: its step count and features.
func stepLimit(p plan.Plan) workflow.Limits {
	l := workflow.Limits{Plan: p.Name, NoCallbacks: !p.Features.Callbacks, NoForeach: !p.Features.Foreach}
	if n := p.Limits.StepsPerWorkflow; n > 0 && n < workflow.MaxSteps {
		l.MaxSteps = n
	}
	return l
}

// mayReadSecrets refuses a definition that reads tenant secrets unless the
// key is an admin's (or the owner's). Members cannot read secrets; a
// workflow they could save would send a secret wherever its http step
// points. The route table admits members; this is the rule within it.
func mayReadSecrets(c echo.Context, d workflow.Definition) error {
	p := principal(c)
	if p.Role.AtLeast(auth.Admin) || len(d.SecretNames()) == 0 {
		return nil
	}
	return errs.E(errs.Forbidden, "secrets_need_admin",
		"this definition reads tenant secrets; only an admin or owner key may save it (this key's role is "+string(p.Role)+")")
}

func (s *Server) createWorkflow(c echo.Context) error {
	d, body, err := decodeDefinition(c)
	if err != nil {
		return err
	}
	if err := mayReadSecrets(c, d); err != nil {
		return err
	}
	var w workflow.Workflow
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		p, err := s.ent.Reserve(ctx, q, principal(c).TenantID, entitlement.Workflows)
		if err != nil {
			return err
		}
		if err := d.ValidateWithin(stepLimit(p)); err != nil {
			return workflow.Locate(body, err)
		}
		if w, err = workflow.Create(ctx, q, principal(c).TenantID, d); err != nil {
			return err
		}
		return s.record(ctx, q, c, "workflow.create", objWorkflow, w.ID.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

func (s *Server) updateWorkflow(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, body, err := decodeDefinition(c)
	if err != nil {
		return err
	}
	var w workflow.Workflow
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		p, err := s.ent.PlanOf(ctx, q, principal(c).TenantID)
		if err != nil {
			return err
		}
		if err := d.ValidateWithin(stepLimit(p)); err != nil {
			return workflow.Locate(body, err)
		}
		if err := mayReadSecrets(c, d); err != nil {
			if _, err := workflow.Get(ctx, q, id); err != nil {
				return err // 404 over 403: another tenant's id stays unknown
			}
			return err
		}
		if w, err = workflow.Update(ctx, q, principal(c).TenantID, id, d); err != nil {
			return err
		}
		return s.record(ctx, q, c, "workflow.update", objWorkflow, id.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// triggerWorkflow is POST /api/v1/workflows/:id/runs: the JSON body becomes trigger.body.
func (s *Server) triggerWorkflow(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var body json.RawMessage
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &body); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	tenantID := principal(c).TenantID
	runID, status, err := run.StartManual(ctx, s.db, s.queue, run.Manual{TenantID: tenantID,
		WorkflowID: id, Body: body, RequestID: logging.RequestID(ctx), Admitter: s.admit})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, intakeResponse{RunID: runID, Status: string(status)})
}
