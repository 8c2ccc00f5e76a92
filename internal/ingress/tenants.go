package ingress

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"aias/internal/diagnostics"
	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/tenant"
)

var errSignupRateLimited = errs.E(errs.RateLimited, "rate_limited", "too many signups from this address; retry after the time in Retry-After")

// spendSignup takes a signup from the client address's hourly budget
// (AIAS_SIGNUP_RATE_PER_HOUR), before any work: each signup is a tenant
// with a plan's quotas, so one client making them by the hundred would
// multiply those quotas. The API's signup and a person's share the one
// budget, or each route would be a second allowance.
func (s *Server) spendSignup(c echo.Context) error {
	if err := s.limit(c, "signup:"+ipKey(c.RealIP()), s.opt.SignupLimit); err != nil {
		return errSignupRateLimited
	}
	return nil
}

type signupRequest struct {
	Email      string `json:"email"`
	TenantName string `json:"tenant_name"`
}

// signup is POST /api/v1/signup: a user, a tenant and its owner key.
func (s *Server) signup(c echo.Context) error {
	if !s.opt.SignupEnabled {
		return errs.E(errs.Forbidden, "signup_disabled", "signup is disabled on this server")
	}
	if err := s.spendSignup(c); err != nil {
		return err
	}
	var req signupRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	out, err := tenant.Create(c.Request().Context(), s.db, req.Email, req.TenantName)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

type meResponse struct {
	TenantID   string            `json:"tenant_id"`
	TenantName string            `json:"tenant_name"`
	Plan       string            `json:"plan"`
	Limits     plan.Limits       `json:"limits"`
	Features   plan.Features     `json:"features"`
	Role       string            `json:"role"`
	KeyID      string            `json:"key_id"`
	Usage      entitlement.Usage `json:"usage"`
}

// me is GET /api/v1/me: who this key is.
func (s *Server) me(c echo.Context) error {
	p := principal(c)
	var t tenant.Tenant
	var u entitlement.Usage
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if t, err = tenant.Get(ctx, q, p.TenantID); err != nil {
			return err
		}
		u, err = s.ent.UsageOf(ctx, q, p.TenantID, time.Now())
		return err
	})
	if err != nil {
		return err
	}
	pl := s.ent.Resolve(t.Plan)
	return c.JSON(http.StatusOK, meResponse{TenantID: t.ID.String(), TenantName: t.Name, Plan: pl.Name,
		Limits: pl.Limits, Features: pl.Features, Role: string(p.Role), KeyID: p.KeyID.String(), Usage: u})
}

// usage is GET /api/v1/usage: this period's usage against the plan's limits.
func (s *Server) usage(c echo.Context) error {
	u, err := read(s, c, func(ctx context.Context, q postgres.Querier) (entitlement.Usage, error) {
		return s.ent.UsageOf(ctx, q, principal(c).TenantID, time.Now())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

// diagnosticsResponse is the diagnostics report with the tenant's usage.
type diagnosticsResponse struct {
	diagnostics.Report
	Usage entitlement.Usage `json:"usage"`
}

// diagnostics is GET /api/v1/diagnostics (admins): waiting, failing and
// refused work, and usage against the plan.
func (s *Server) diagnostics(c echo.Context) error {
	var out diagnosticsResponse
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		now := time.Now()
		if out.Report, err = diagnostics.Of(ctx, q, now); err != nil {
			return err
		}
		out.Usage, err = s.ent.UsageOf(ctx, q, principal(c).TenantID, now)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// plans is GET /api/v1/plans (public): every plan with its limits, features
// and Stripe prices, enough to build a pricing page on.
func (s *Server) plans(c echo.Context) error {
	return c.JSON(http.StatusOK, newList(s.ent.Plans.All(), ""))
}

// inTenant runs fn in a transaction scoped to the caller's tenant.
func (s *Server) inTenant(c echo.Context, fn func(ctx context.Context, q postgres.Querier) error) error {
	ctx := c.Request().Context()
	return s.db.InTenantTx(ctx, principal(c).TenantID, func(q postgres.Querier) error { return fn(ctx, q) })
}
