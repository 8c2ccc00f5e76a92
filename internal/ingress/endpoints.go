package ingress

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"aias/internal/postgres"
	"aias/internal/webhook"
)

// createdEndpoint is the only answer that carries the token and the URL.
type createdEndpoint struct {
	webhook.Endpoint
	URL   string `json:"url"`
	Token string `json:"token"`
}

func (s *Server) createEndpoint(c echo.Context) error {
	var req webhook.NewEndpoint
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var e webhook.Endpoint
	var token string
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		e, token, err = webhook.Create(ctx, q, principal(c).TenantID, req)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdEndpoint{Endpoint: e, Token: token,
		URL: webhook.URL(s.opt.PublicURL, e.TenantID, token)})
}

func (s *Server) getEndpoint(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var e webhook.Endpoint
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		e, err = webhook.Get(ctx, q, id)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) listEndpoints(c echo.Context) error {
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	var es []webhook.Endpoint
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		es, next, err = webhook.List(ctx, q, p)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(es, next))
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
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		e, err = webhook.Update(ctx, q, id, patch)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) deleteEndpoint(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error { return webhook.Delete(ctx, q, id) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
