package ingress

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/webhook"
)

// testDeliveryRequest is the optional body of a test delivery.
type testDeliveryRequest struct {
	// Body is the delivery's JSON body; a sample when absent.
	Body json.RawMessage `json:"body"`
}

// testDeliveryOutcome is what happened to a test delivery, as its sender
// would have seen it and as the endpoint's owner needs it.
type testDeliveryOutcome struct {
	// Outcome is accepted, held (over the monthly quota), duplicate or rejected.
	Outcome string `json:"outcome"`
	// Status is the HTTP status a sender would have been answered.
	Status     int        `json:"status"`
	RunID      *uuid.UUID `json:"run_id,omitempty"`
	RunStatus  string     `json:"run_status,omitempty"`
	Reason     string     `json:"reason,omitempty"` // a rejection's, as in the rejection log
	Detail     string     `json:"detail,omitempty"`
	DeliveryID string     `json:"delivery_id"`
	// Headers are the names of the headers it was sent with.
	Headers []string        `json:"headers"`
	Body    json.RawMessage `json:"body"`
}

// testDelivery is POST /api/v1/webhook-endpoints/:id/test: the server
// signs a delivery for the endpoint as its scheme wants and puts it
// through the intake's own steps (webhook/testdelivery.go): the per-
// endpoint rate limit, the body limit, Verify, Accept. A refusal is logged
// in the endpoint's rejection log like a sender's; an accepted delivery
// starts a real run.
func (s *Server) testDelivery(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req testDeliveryRequest
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	t, err := s.intakes.TargetOf(ctx, principal(c).TenantID, id)
	if err != nil {
		return err
	}
	deliveryID := "test_" + uuid.NewString()
	body := []byte(req.Body)
	if len(body) == 0 || string(body) == "null" {
		body = webhook.SampleBody(deliveryID, time.Now())
	}
	h, err := s.intakes.SignTest(t, deliveryID, body)
	if err != nil {
		return err
	}
	d := webhook.Delivery{Body: body, ContentType: h.Get(echo.HeaderContentType), Header: h,
		RequestID: logging.RequestID(ctx), SourceIP: c.RealIP(), ReceivedAt: time.Now()}
	out := testDeliveryOutcome{DeliveryID: deliveryID, Body: body, Headers: headerNames(h)}
	s.deliverTest(ctx, t, d, &out)
	if out.Outcome == "" {
		return errs.E(errs.Internal, "internal", "test delivery had no outcome")
	}
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		return s.record(ctx, q, c, "endpoint.test_delivery", objEndpoint, id.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// deliverTest puts the delivery through the intake's steps after the
// endpoint's lookup, and says what came of it.
func (s *Server) deliverTest(ctx context.Context, t webhook.Target, d webhook.Delivery, out *testDeliveryOutcome) {
	refuse := func(status int, reason, detail string) {
		s.reject(ctx, t, d, reason, detail)
		out.Outcome, out.Status, out.Reason, out.Detail = "rejected", status, reason, detail
	}
	if s.limiter != nil && !s.opt.EndpointLimit.Zero() && !s.limiter.Allow(ctx, "ep:"+t.EndpointID.String(), s.opt.EndpointLimit).Allowed {
		refuse(http.StatusTooManyRequests, webhook.ReasonRateLimited, "per-endpoint rate limit")
		return
	}
	if int64(len(d.Body)) > t.MaxBodyBytes {
		refuse(http.StatusRequestEntityTooLarge, webhook.ReasonBodyTooLarge, tooLarge(t.MaxBodyBytes).Error())
		return
	}
	v, err := s.intakes.Verify(t, d)
	if f, ok := webhook.IsRejection(err); ok {
		refuse(http.StatusUnauthorized, f.Reason, f.Detail)
		return
	}
	if err != nil {
		out.Outcome, out.Status, out.Reason, out.Detail = "rejected", statusOf[errs.KindOf(err)], errs.CodeOf(err), errs.MessageOf(err)
		return
	}
	acc, err := s.intakes.Accept(ctx, t, d, v)
	if err != nil {
		status := statusOf[errs.KindOf(err)]
		if errs.Is(err, errs.Invalid) {
			s.reject(ctx, t, d, webhook.ReasonBadRequest, errs.MessageOf(err))
		}
		out.Outcome, out.Status, out.Reason, out.Detail = "rejected", status, errs.CodeOf(err), errs.MessageOf(err)
		return
	}
	out.RunID, out.RunStatus = &acc.RunID, string(acc.Status)
	switch {
	case acc.Duplicate:
		out.Outcome, out.Status = "duplicate", http.StatusOK
	case acc.Status == run.Held:
		out.Outcome, out.Status = "held", http.StatusAccepted
	default:
		out.Outcome, out.Status = "accepted", http.StatusAccepted
	}
}

func headerNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
