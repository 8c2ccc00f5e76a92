package ingress

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/webhook"
)

type intakeResponse struct {
	RunID     uuid.UUID `json:"run_id"`
	Status    string    `json:"status"`
	Duplicate bool      `json:"duplicate,omitempty"`
}

// intake is POST /api/webhooks/:tenant_id/:token. 202 only after the run is
// committed in Postgres; 200 with the first run's id for a repeated delivery.
func (s *Server) intake(c echo.Context) error {
	tenantID, err := uuid.Parse(c.Param("tenant_id"))
	if err != nil {
		s.metrics.IntakeOutcomes.WithLabelValues("rejected_unknown").Inc()
		return errs.E(errs.NotFound, "not_found", "no such webhook endpoint")
	}
	ctx := logging.AddStr(c.Request().Context(), "tenant_id", tenantID.String())
	body, err := readBody(c, s.opt.MaxBodyBytes)
	if err != nil {
		s.metrics.IntakeOutcomes.WithLabelValues("rejected_too_large").Inc()
		return err
	}
	r := c.Request()
	acc, err := s.intakes.Accept(ctx, webhook.Delivery{
		TenantID: tenantID, Token: c.Param("token"), Body: body,
		ContentType: r.Header.Get(echo.HeaderContentType), Header: r.Header, Query: r.URL.Query(),
		RequestID: logging.RequestID(ctx), ReceivedAt: time.Now(),
	})
	if err != nil {
		s.metrics.IntakeOutcomes.WithLabelValues("rejected_" + errs.CodeOf(err)).Inc()
		return err
	}
	logging.From(ctx).Info().Str("run_id", acc.RunID.String()).Bool("duplicate", acc.Duplicate).Msg("delivery accepted")
	if acc.Duplicate {
		s.metrics.IntakeOutcomes.WithLabelValues("duplicate").Inc()
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSON(http.StatusOK, intakeResponse{RunID: acc.RunID, Status: string(acc.Status), Duplicate: true})
	}
	s.metrics.IntakeOutcomes.WithLabelValues("accepted").Inc()
	return c.JSON(http.StatusAccepted, intakeResponse{RunID: acc.RunID, Status: string(acc.Status)})
}
