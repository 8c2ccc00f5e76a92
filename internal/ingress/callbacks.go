package ingress

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"aias/internal/postgres"
	"aias/internal/secret"
	"aias/internal/signature"
)

// objCallbackSecret is the audit object type of the tenant's callback secret.
const objCallbackSecret = "callback_secret"

type callbackRotation struct {
	// Grace is how long the previous secret keeps signing alongside the
	// new one; nil means 24h, 0s ends it at once.
	Grace *signature.Duration `json:"grace"`
}

// rotateCallbackSecret is POST /api/v1/callback-secret {"grace"?}: creates
// the tenant's callback signing secret, or replaces it, and returns the new
// value — the only time it is shown.
func (s *Server) rotateCallbackSecret(c echo.Context) error {
	var req callbackRotation
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	grace := secret.DefaultCallbackGrace
	if req.Grace != nil {
		grace = time.Duration(*req.Grace)
	}
	var out secret.IssuedCallbackSecret
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if out, err = secret.RotateCallbackSecret(ctx, q, s.keys, principal(c).TenantID, grace); err != nil {
			return err
		}
		return s.record(ctx, q, c, "callback_secret.rotate", objCallbackSecret, out.ID.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}
