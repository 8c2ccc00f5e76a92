package ingress

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
)

var errBillingOff = errs.E(errs.Unavailable, "billing_not_configured", "billing is not configured on this server")

// stripeWebhook is POST /api/stripe/webhook: the raw body, verified with the
// Stripe-Signature header, each event applied once. 2xx tells Stripe to stop
// retrying; anything else makes it retry.
func (s *Server) stripeWebhook(c echo.Context) error {
	if s.billing == nil || s.billing.Cfg.WebhookSecret == "" {
		return errBillingOff
	}
	body, err := readBody(c, maxAPIBody)
	if err != nil {
		return err
	}
	dup, err := s.billing.HandleWebhook(c.Request().Context(), body, c.Request().Header.Get("Stripe-Signature"))
	if errs.Is(err, errs.Unauthorized) {
		// Stripe's convention for a payload that fails verification: 400.
		return errs.Wrap(err, errs.Invalid, "invalid_signature", "the Stripe-Signature header does not verify this payload")
	}
	if err != nil {
		return err
	}
	s.intakes.Forget(uuid.Nil) // a plan may have changed: its body limit applies at once
	return c.JSON(http.StatusOK, map[string]bool{"received": true, "duplicate": dup})
}

type checkoutRequest struct {
	Plan  string `json:"plan"`
	Email string `json:"email"`
}

// checkout is POST /api/v1/billing/checkout (owner): a Stripe Checkout URL.
func (s *Server) checkout(c echo.Context) error {
	if s.billing == nil {
		return errBillingOff
	}
	var req checkoutRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	url, err := s.billing.Checkout(c.Request().Context(), principal(c).TenantID, req.Email, req.Plan)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"url": url})
}

// portal is POST /api/v1/billing/portal (owner): a billing-portal URL.
func (s *Server) portal(c echo.Context) error {
	if s.billing == nil {
		return errBillingOff
	}
	url, err := s.billing.Portal(c.Request().Context(), principal(c).TenantID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"url": url})
}

// subscription is GET /api/v1/billing: the tenant's Stripe state.
func (s *Server) subscription(c echo.Context) error {
	if s.billing == nil {
		return errBillingOff
	}
	sub, err := s.billing.Subscription(c.Request().Context(), principal(c).TenantID)
	if errs.Is(err, errs.NotFound) {
		return c.JSON(http.StatusOK, map[string]any{"subscription": nil})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"subscription": sub})
}
