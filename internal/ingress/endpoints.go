package ingress

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"aias/internal/entitlement"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/webhook"
)

// issuedEndpoint is the only kind of answer that carries a token, its URL or
// a signing secret: creation, rotation, a verification change.
type issuedEndpoint struct {
	webhook.Endpoint
	URL           string `json:"url,omitempty"`
	Token         string `json:"token,omitempty"`
	SigningSecret string `json:"signing_secret,omitempty"`
}

func (s *Server) issued(e webhook.Endpoint, is webhook.Issued) issuedEndpoint {
	out := issuedEndpoint{Endpoint: e, Token: is.Token, SigningSecret: is.SigningSecret}
	if is.Token != "" {
		out.URL = webhook.URL(s.opt.PublicURL, e.TenantID, is.Token)
	}
	return out
}

// limits bounds an endpoint's settings by the operator's ceiling and the plan.
func (s *Server) limits(p plan.Plan) webhook.Limits {
	return webhook.Limits{MaxBodyBytes: min(s.opt.MaxBodyLimit, p.Limits.MaxPayloadBytes)}
}

// allowedScheme refuses a signature scheme the plan does not include.
func allowedScheme(p plan.Plan, scheme string) error {
	if scheme == "" || p.AllowsScheme(scheme) {
		return nil
	}
	return entitlement.Feature(p, "the "+scheme+" signature scheme")
}

func (s *Server) createEndpoint(c echo.Context) error {
	var req webhook.NewEndpoint
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var e webhook.Endpoint
	var is webhook.Issued
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		p, err := s.ent.Reserve(ctx, q, principal(c).TenantID, entitlement.WebhookEndpoints)
		if err != nil {
			return err
		}
		if err := allowedScheme(p, req.Verification.Scheme); err != nil {
			return err
		}
		if e, is, err = webhook.Create(ctx, q, s.keys, principal(c).TenantID, req, s.limits(p)); err != nil {
			return err
		}
		return s.record(ctx, q, c, "endpoint.create", objEndpoint, e.ID.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.issued(e, is))
}

func (s *Server) patchEndpoint(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var patch webhook.Patch
	if err := bindJSON(c, &patch); err != nil {
		return err
	}
	var e webhook.Endpoint
	var is webhook.Issued
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		p, err := s.ent.PlanOf(ctx, q, principal(c).TenantID)
		if err != nil {
			return err
		}
		if patch.Verification != nil {
			if err := allowedScheme(p, patch.Verification.Scheme); err != nil {
				return err
			}
		}
		if e, is, err = webhook.Update(ctx, q, s.keys, id, patch, s.limits(p)); err != nil {
			return err
		}
		return s.record(ctx, q, c, "endpoint.update", objEndpoint, id.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.issued(e, is))
}

// rotateEndpoint is POST /webhook-endpoints/:id/rotate: a new signing secret
// (and URL token, for the token scheme or on request); the previous ones keep
// working for the grace period.
func (s *Server) rotateEndpoint(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var r webhook.Rotation
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &r); err != nil {
			return err
		}
	}
	var e webhook.Endpoint
	var is webhook.Issued
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if e, is, err = webhook.Rotate(ctx, q, s.keys, id, r); err != nil {
			return err
		}
		return s.record(ctx, q, c, "endpoint.rotate", objEndpoint, id.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.issued(e, is))
}
